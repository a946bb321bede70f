package pypi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// jsonInfo is the "info" object of the JSON API, in the public index's
// shape.
type jsonInfo struct {
	Author                 string            `json:"author"`
	AuthorEmail            string            `json:"author_email"`
	Classifiers            []string          `json:"classifiers"`
	Description            string            `json:"description"`
	DescriptionContentType string            `json:"description_content_type"`
	DownloadURL            string            `json:"download_url"`
	HomePage               string            `json:"home_page"`
	Keywords               string            `json:"keywords"`
	License                string            `json:"license"`
	Maintainer             string            `json:"maintainer"`
	MaintainerEmail        string            `json:"maintainer_email"`
	Name                   string            `json:"name"`
	PackageURL             string            `json:"package_url"`
	Platform               string            `json:"platform"`
	ProjectURL             string            `json:"project_url"`
	ProjectURLs            map[string]string `json:"project_urls"`
	ReleaseURL             string            `json:"release_url"`
	RequiresDist           []string          `json:"requires_dist"`
	RequiresPython         string            `json:"requires_python"`
	Summary                string            `json:"summary"`
	Version                string            `json:"version"`
	Yanked                 bool              `json:"yanked"`
	YankedReason           *string           `json:"yanked_reason"`
}

// jsonFile is one file in "urls" and "releases".
type jsonFile struct {
	CommentText       string            `json:"comment_text"`
	Digests           map[string]string `json:"digests"`
	Downloads         int               `json:"downloads"`
	Filename          string            `json:"filename"`
	HasSig            bool              `json:"has_sig"`
	MD5Digest         string            `json:"md5_digest"`
	PackageType       string            `json:"packagetype"`
	PythonVersion     string            `json:"python_version"`
	RequiresPython    *string           `json:"requires_python"`
	Size              int64             `json:"size"`
	UploadTime        string            `json:"upload_time"`
	UploadTimeISO8601 string            `json:"upload_time_iso_8601"`
	URL               string            `json:"url"`
	Yanked            bool              `json:"yanked"`
	YankedReason      *string           `json:"yanked_reason"`
}

// jsonProject is the answer of /<project>/json and, without Releases,
// of /<project>/<version>/json.
type jsonProject struct {
	Info            jsonInfo              `json:"info"`
	LastSerial      int64                 `json:"last_serial"`
	Releases        map[string][]jsonFile `json:"releases,omitempty"`
	URLs            []jsonFile            `json:"urls"`
	Vulnerabilities []any                 `json:"vulnerabilities"`
}

// projectJSON serves /<project>/json: the latest release's metadata and
// every release's files.
func (h *Handler) projectJSON(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, project, err := projectParam(p)
	if err != nil {
		return nil, err
	}
	if name != project {
		return redirect(req, "/"+project+"/json"), nil
	}
	return h.serveJSON(ctx, req, project, "", true)
}

// releaseJSON serves /<project>/<version>/json.
func (h *Handler) releaseJSON(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	project, version, err := releaseParams(p)
	if err != nil {
		return nil, err
	}
	if p["project"] != project || p["version"] != version {
		return redirect(req, "/"+project+"/"+url.PathEscape(version)+"/json"), nil
	}
	return h.serveJSON(ctx, req, project, version, false)
}

func (h *Handler) serveJSON(ctx context.Context, req *core.RequestContext, project, version string, all bool) (*core.Response, error) {
	if _, err := h.authorize(ctx, req, project, core.ActionRead); err != nil {
		return nil, err
	}
	doc, _, err := h.loadServedProject(ctx, project)
	readMetadata := func(f fileRecord) (Metadata, error) { return h.readStoredMetadata(ctx, project, f) }
	if h.proxiedProject(ctx, project, err) {
		var page *proxyPage
		if doc, page, err = h.upstreamProject(ctx, req, project); err == nil {
			readMetadata = func(f fileRecord) (Metadata, error) { return h.upstreamMetadata(ctx, req, project, page, f), nil }
		}
	}
	if err != nil {
		return nil, err
	}
	if version == "" {
		version = doc.latest()
	}
	rel, ok := doc.Releases[version]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no release %s", core.ErrNotFound, project, version)
	}
	out := jsonProject{LastSerial: doc.Serial, URLs: []jsonFile{}, Vulnerabilities: []any{}}
	if all {
		out.Releases = map[string][]jsonFile{}
		for _, v := range doc.versions() {
			out.Releases[v] = []jsonFile{}
		}
	}
	var first *fileRecord
	for i, f := range doc.Files {
		jf := toJSONFile(req.BaseURL, project, f, doc.Releases[f.Version])
		if all {
			out.Releases[f.Version] = append(out.Releases[f.Version], jf)
		}
		if f.Version == version {
			out.URLs = append(out.URLs, jf)
			if first == nil || (first.Type != TypeWheel && f.Type == TypeWheel) {
				first = &doc.Files[i]
			}
		}
	}
	meta := Metadata{Name: doc.Name, Version: version}
	if first != nil {
		if meta, err = readMetadata(*first); err != nil {
			return nil, err
		}
	}
	out.Info = toJSONInfo(req.BaseURL, project, version, meta, rel)
	body, err := marshalJSON(out)
	if err != nil {
		return nil, err
	}
	return core.BytesResponse(http.StatusOK, "application/json", body), nil
}

// readStoredMetadata reads and parses the core metadata kept beside a file.
// The parsed result is cached under the stored object's ETag, so a read of
// an unchanged file costs a stat, not a parse.
func (h *Handler) readStoredMetadata(ctx context.Context, project string, f fileRecord) (Metadata, error) {
	filename := f.Filename
	key := metadataKey(project, f.Object)
	if info, err := h.deps.Storage.Stat(ctx, key); err == nil {
		if m, ok := h.metadata.get(key, info.ETag); ok {
			return m, nil
		}
	}
	rc, info, err := h.deps.Storage.Get(ctx, key, nil)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return Metadata{}, fmt.Errorf("metadata of %s is missing: %w", filename, err)
		}
		return Metadata{}, fmt.Errorf("read metadata of %s: %w", filename, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, h.cfg.MaxMetadataSize+1))
	if err != nil {
		return Metadata{}, fmt.Errorf("read metadata of %s: %w", filename, err)
	}
	m, err := ParseMetadata(b)
	if err != nil {
		return Metadata{}, fmt.Errorf("stored metadata of %s: %v", filename, err)
	}
	h.metadata.put(key, info.ETag, m)
	return m, nil
}

func toJSONInfo(base, project, version string, m Metadata, rel releaseRecord) jsonInfo {
	info := jsonInfo{
		Author: m.Author, AuthorEmail: m.AuthorEmail, Classifiers: nonNil(m.Classifiers),
		Description: m.Description, DescriptionContentType: m.DescriptionContentType, DownloadURL: m.DownloadURL,
		HomePage: m.HomePage, Keywords: m.Keywords, License: m.License,
		Maintainer: m.Maintainer, MaintainerEmail: m.MaintainerEmail, Name: m.Name,
		PackageURL: base + "/simple/" + project + "/", Platform: strings.Join(m.Platforms, ", "),
		ProjectURL: base + "/simple/" + project + "/", RequiresDist: m.RequiresDist,
		ReleaseURL: base + "/" + project + "/" + version + "/json", RequiresPython: m.RequiresPython,
		Summary: m.Summary, Version: version, Yanked: rel.Yanked,
	}
	if rel.Yanked {
		r := rel.YankedReason
		info.YankedReason = &r
	}
	if len(m.ProjectURLs) > 0 {
		info.ProjectURLs = map[string]string{}
		for _, pu := range m.ProjectURLs {
			label, u, _ := strings.Cut(pu, ",")
			info.ProjectURLs[strings.TrimSpace(label)] = strings.TrimSpace(u)
		}
	}
	return info
}

func toJSONFile(base, project string, f fileRecord, rel releaseRecord) jsonFile {
	jf := jsonFile{
		CommentText: f.Comment,
		Digests:     map[string]string{"sha256": f.SHA256, "md5": f.MD5, "blake2b_256": f.BLAKE2b256},
		Downloads:   -1, Filename: f.Filename, MD5Digest: f.MD5, PackageType: f.Type, PythonVersion: f.PythonVersion,
		Size: f.Size, UploadTime: f.UploadTime.UTC().Format("2006-01-02T15:04:05"),
		UploadTimeISO8601: uploadTime(f.UploadTime),
		URL:               base + "/packages/" + project + "/" + url.PathEscape(f.Filename),
		Yanked:            rel.Yanked,
	}
	maps.DeleteFunc(jf.Digests, func(_, sum string) bool { return sum == "" }) // an upstream page may give only sha256
	if f.RequiresPython != "" {
		rp := f.RequiresPython
		jf.RequiresPython = &rp
	}
	if rel.Yanked {
		r := rel.YankedReason
		jf.YankedReason = &r
	}
	return jf
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
