package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/upstream"
)

// Proxying. A project this registry does not hold is fetched from the
// upstreams Deps.Upstream names for it (scope rules included). Its simple
// page is asked for as PEP 691 JSON (HTML is understood too), stored in a
// normalised JSON form with absolute file URLs, cached with the TTL of
// Config.Upstream, and served in the variant the client negotiated with
// every file URL pointing back at this registry; the hashes (the #sha256=
// fragment in HTML, "hashes" in JSON), requires-python, yanked and the
// core metadata keys (data-core-metadata and data-dist-info-metadata in
// HTML, core-metadata in JSON) are kept as the upstream sent them. A file,
// or its <filename>.metadata, is fetched when first asked for, streamed to
// the client while it is checked against the hashes the page promised, and
// cached for good. A project held locally (its project document exists)
// shadows the upstream one entirely, unless Config.Upstream.Merge adds the
// upstream's files of the versions it lacks (see mergedSimple). Reading (the read scope) is all a
// fetch needs, unless Config.Upstream.NewNamesNeedWrite asks for write
// before a name is first fetched.

// Upstream returns the client that fetches from the upstreams, or nil when
// none are configured; its Breakers report their circuit breakers.
func (h *Handler) Upstream() *upstream.Client { return h.up }

// proxiedProject reports whether a request for project, which err says
// was not found locally, may be asked upstream: only when no local
// project document exists.
func (h *Handler) proxiedProject(ctx context.Context, project string, err error) bool {
	if h.up == nil || !errors.Is(err, core.ErrNotFound) {
		return false
	}
	_, serr := h.deps.Storage.Stat(ctx, projectKey(project))
	return errors.Is(serr, core.ErrNotFound)
}

// acceptSimple asks an upstream for a simple page, JSON preferred.
var acceptSimple = http.Header{"Accept": {ContentTypeJSON + ", " + ContentTypeHTML + ";q=0.2, text/html;q=0.1"}}

// upstreamPage returns the upstream simple page of project, parsed
// (cached by the document's digest), and the upstream it came from.
func (h *Handler) upstreamPage(ctx context.Context, req *core.RequestContext, project string) (*proxyPage, error) {
	if h.cfg.Upstream.NewNamesNeedWrite {
		if _, err := h.deps.Storage.Stat(ctx, upstreamPageKey(project)); errors.Is(err, core.ErrNotFound) {
			if _, err := h.authorize(ctx, req, project, core.ActionWrite); err != nil {
				return nil, err
			}
		}
	}
	path := "/simple/" + url.PathEscape(project) + "/"
	doc, err := h.up.Metadata(core.WithObject(ctx, core.ObjectRef{Package: project}), upstream.MetadataRequest{
		Name: project, Key: upstreamPageKey(project), Path: path, Header: acceptSimple,
		Check: func(body []byte, from core.Upstream) ([]byte, error) {
			p, err := parseUpstreamPage(project, strings.TrimSuffix(from.URL, "/")+path, body)
			if err != nil {
				return nil, err
			}
			return json.Marshal(p)
		},
	})
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: project %s", core.ErrNotFound, project)
	}
	if err != nil {
		return nil, err
	}
	if p, ok := h.proxies.get(project, doc.Sum); ok {
		return p, nil
	}
	p := &proxyPage{sum: doc.Sum, from: doc.Upstream}
	if err := json.Unmarshal(doc.Body, &p.page); err != nil {
		return nil, fmt.Errorf("%w: cached upstream page of %s: %w", core.ErrUnavailable, project, err)
	}
	h.proxies.put(project, doc.Sum, p)
	return p, nil
}

// upstreamSimple serves /simple/<project>/ for a project held upstream.
func (h *Handler) upstreamSimple(ctx context.Context, req *core.RequestContext, project string, v variant, ct string) (*core.Response, error) {
	p, err := h.upstreamPage(ctx, req, project)
	if err != nil {
		return nil, err
	}
	ck := pageKey{project: project, etag: "upstream " + p.sum, variant: v}
	if body, ok := h.pages.get(ck); ok {
		return simpleResponse(ct, body), nil
	}
	body, err := renderUpstreamPage(project, &p.page, v)
	if err != nil {
		return nil, err
	}
	h.pages.put(ck, body)
	return simpleResponse(ct, body), nil
}

// upstreamDownload serves /packages/<project>/<filename>[.metadata] for a
// project held upstream: from the cache, else fetched and verified.
func (h *Handler) upstreamDownload(ctx context.Context, req *core.RequestContext, project, filename string, metadata bool) (*core.Response, error) {
	version, _ := fileVersion(filename)
	ctx = core.WithObject(ctx, core.ObjectRef{Package: project, Version: version})
	key, ct := upstreamFileKey(project, filename), "application/octet-stream"
	if metadata {
		key, ct = key+".metadata", "text/plain; charset=utf-8"
	}
	if req.Method == http.MethodHead {
		if info, err := h.deps.Storage.Stat(ctx, key); err == nil {
			return core.StreamResponse(http.StatusOK, ct, nil, info.Size), nil
		}
	} else if rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindArtifact), key, nil); err == nil {
		return core.StreamResponse(http.StatusOK, ct, rc, info.Size), nil
	}
	p, err := h.upstreamPage(ctx, req, project)
	if err != nil {
		return nil, err
	}
	f, ok := p.page.file(filename)
	if !ok || (metadata && !f.HasMetadata) {
		return nil, fileError(filename, core.ErrNotFound)
	}
	hashes, path, size := f.Hashes, f.URL, f.Size
	if metadata {
		hashes, path, size = f.Metadata, f.URL+".metadata", 0
	}
	var digests []upstream.Digest
	for alg, sum := range hashes {
		if d, err := upstream.HexDigest(alg, sum); err == nil {
			digests = append(digests, d)
		}
	}
	if req.Method == http.MethodHead {
		if size <= 0 {
			size = -1
		}
		return core.StreamResponse(http.StatusOK, ct, nil, size), nil
	}
	a, err := h.up.Artifact(ctx, upstream.ArtifactRequest{Name: project, Key: key, Path: path, From: p.from,
		StagePrefix: uploadsPrefix, Size: size, Digests: digests, ContentType: ct})
	if err != nil {
		return nil, err
	}
	return core.StreamResponse(http.StatusOK, a.ContentType, a.Body, a.Size), nil
}

// proxyPage is a parsed upstream page with the digest of its cached copy.
type proxyPage struct {
	sum  string
	from string
	page upstreamPage
}

// proxyCache keeps parsed upstream pages, one per project, each valid
// for one document digest.
type proxyCache = etagCache[string, *proxyPage]

// upstreamPage is the normalised form an upstream simple page is cached
// in: its files with absolute URLs and the keys pip reads.
type upstreamPage struct {
	Name  string         `json:"name"`
	Files []upstreamFile `json:"files"`
}

// upstreamFile is one file of an upstream page.
type upstreamFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	// HasMetadata says that <url>.metadata exists; Metadata are its
	// hashes (PEP 658/714), possibly none.
	HasMetadata  bool              `json:"has-metadata,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	Yanked       bool              `json:"yanked,omitempty"`
	YankedReason string            `json:"yanked-reason,omitempty"`
	Size         int64             `json:"size,omitempty"`
	UploadTime   string            `json:"upload-time,omitempty"`
}

func (p *upstreamPage) file(filename string) (upstreamFile, bool) {
	for _, f := range p.Files {
		if f.Filename == filename {
			return f, true
		}
	}
	return upstreamFile{}, false
}

// parseUpstreamPage parses an upstream's simple page of project, found at
// pageURL, as PEP 691 JSON or as PEP 503 HTML. Files with a name this
// registry would not serve, or a URL that is not http(s), are left out.
func parseUpstreamPage(project, pageURL string, body []byte) (*upstreamPage, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	var files []upstreamFile
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		files, err = parseJSONPage(project, t)
	} else {
		files, err = parseHTMLPage(body)
	}
	if err != nil {
		return nil, err
	}
	p := &upstreamPage{Name: project, Files: make([]upstreamFile, 0, len(files))}
	seen := map[string]bool{}
	for _, f := range files {
		u, err := base.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		if f.Filename == "" {
			f.Filename, _ = url.PathUnescape(u.Path[strings.LastIndexByte(u.Path, '/')+1:])
		}
		if _, err := ParseFilename(f.Filename); err != nil || seen[f.Filename] {
			continue
		}
		seen[f.Filename] = true
		if sum, ok := strings.CutPrefix(u.Fragment, "sha256="); ok && f.Hashes["sha256"] == "" {
			if f.Hashes == nil {
				f.Hashes = map[string]string{}
			}
			f.Hashes["sha256"] = sum
		}
		u.Fragment, u.RawFragment = "", ""
		f.URL = u.String()
		p.Files = append(p.Files, f)
	}
	return p, nil
}

// parseJSONPage reads the files of a PEP 691 project page.
func parseJSONPage(project string, body []byte) ([]upstreamFile, error) {
	var doc struct {
		Name  string `json:"name"`
		Files []struct {
			Filename       string            `json:"filename"`
			URL            string            `json:"url"`
			Hashes         map[string]string `json:"hashes"`
			RequiresPython string            `json:"requires-python"`
			CoreMetadata   json.RawMessage   `json:"core-metadata"`
			DistInfo       json.RawMessage   `json:"dist-info-metadata"`
			Yanked         json.RawMessage   `json:"yanked"`
			Size           int64             `json:"size"`
			UploadTime     string            `json:"upload-time"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("upstream page of %s: %w", project, err)
	}
	if doc.Name != "" && NormalizeName(doc.Name) != project {
		return nil, fmt.Errorf("upstream page of %s names %q", project, doc.Name)
	}
	files := make([]upstreamFile, 0, len(doc.Files))
	for _, jf := range doc.Files {
		f := upstreamFile{Filename: jf.Filename, URL: jf.URL, Hashes: jf.Hashes, RequiresPython: jf.RequiresPython,
			Size: jf.Size, UploadTime: jf.UploadTime}
		cm := jf.CoreMetadata
		if len(cm) == 0 || string(cm) == "null" {
			cm = jf.DistInfo
		}
		f.HasMetadata, f.Metadata = jsonMetadataKey(cm)
		switch y := jf.Yanked; {
		case len(y) == 0 || string(y) == "false" || string(y) == "null":
		case string(y) == "true":
			f.Yanked = true
		default:
			f.Yanked = json.Unmarshal(y, &f.YankedReason) == nil
		}
		files = append(files, f)
	}
	return files, nil
}

// jsonMetadataKey reads a core-metadata value: true, false, or hashes.
func jsonMetadataKey(raw json.RawMessage) (bool, map[string]string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) == nil && m != nil {
		return true, m
	}
	return false, nil
}

var (
	anchorRE = regexp.MustCompile(`(?is)<a\s([^>]*)>(.*?)</a\s*>`)
	attrRE   = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
	tagRE    = regexp.MustCompile(`<[^>]*>`)
)

// parseHTMLPage reads the anchors of a PEP 503 project page.
func parseHTMLPage(body []byte) ([]upstreamFile, error) {
	var files []upstreamFile
	for _, m := range anchorRE.FindAllSubmatch(body, -1) {
		attrs := map[string]string{}
		present := map[string]bool{}
		for _, a := range attrRE.FindAllSubmatch(m[1], -1) {
			name := strings.ToLower(string(a[1]))
			present[name] = true
			attrs[name] = html.UnescapeString(string(a[2]) + string(a[3]) + string(a[4]))
		}
		href, ok := attrs["href"]
		if !ok {
			continue
		}
		f := upstreamFile{URL: href, Filename: strings.TrimSpace(html.UnescapeString(string(tagRE.ReplaceAll(m[2], nil)))),
			RequiresPython: attrs["data-requires-python"]}
		meta, ok := attrs["data-core-metadata"]
		if !present["data-core-metadata"] {
			meta, ok = attrs["data-dist-info-metadata"]
		}
		if ok && meta != "false" {
			f.HasMetadata = true
			if alg, sum, found := strings.Cut(meta, "="); found {
				f.Metadata = map[string]string{alg: sum}
			}
		}
		if reason, ok := attrs["data-yanked"]; ok {
			f.Yanked, f.YankedReason = true, reason
		}
		files = append(files, f)
	}
	return files, nil
}

// renderUpstreamPage renders an upstream page as served here: file URLs
// relative to this registry, everything else as the upstream sent it.
func renderUpstreamPage(project string, p *upstreamPage, v variant) ([]byte, error) {
	if v == variantJSON {
		type file struct {
			Filename       string            `json:"filename"`
			URL            string            `json:"url"`
			Hashes         map[string]string `json:"hashes"`
			RequiresPython string            `json:"requires-python,omitempty"`
			CoreMetadata   any               `json:"core-metadata"`
			Yanked         any               `json:"yanked"`
			Size           *int64            `json:"size,omitempty"`
			UploadTime     string            `json:"upload-time,omitempty"`
		}
		out := struct {
			Meta     simpleMeta `json:"meta"`
			Name     string     `json:"name"`
			Versions []string   `json:"versions"`
			Files    []file     `json:"files"`
		}{Meta: simpleMeta{APIVersion: apiVersion}, Name: project, Versions: []string{}, Files: make([]file, 0, len(p.Files))}
		versions := map[string]bool{}
		for _, f := range p.Files {
			jf := file{Filename: f.Filename, URL: fileHref(project, f.Filename), Hashes: f.Hashes,
				RequiresPython: f.RequiresPython, CoreMetadata: f.HasMetadata, Yanked: f.Yanked, UploadTime: f.UploadTime}
			if jf.Hashes == nil {
				jf.Hashes = map[string]string{}
			}
			if f.HasMetadata && len(f.Metadata) > 0 {
				jf.CoreMetadata = f.Metadata
			}
			if f.Yanked && f.YankedReason != "" {
				jf.Yanked = f.YankedReason
			}
			if f.Size > 0 {
				jf.Size = &f.Size
			} else {
				out.Meta.APIVersion = "1.0" // PEP 700 sizes are not all known
			}
			if fn, err := ParseFilename(f.Filename); err == nil && !versions[fn.Version] {
				versions[fn.Version] = true
				out.Versions = append(out.Versions, fn.Version)
			}
			out.Files = append(out.Files, jf)
		}
		sort.Strings(out.Versions)
		return marshalJSON(out)
	}
	var b bytes.Buffer
	writeHTMLHead(&b, "Links for "+project)
	for _, f := range p.Files {
		href := fileHref(project, f.Filename)
		if sum := f.Hashes["sha256"]; sum != "" {
			href += "#sha256=" + sum
		} else {
			for _, alg := range []string{"sha512", "sha384", "sha1", "md5"} {
				if sum := f.Hashes[alg]; sum != "" {
					href += "#" + alg + "=" + sum
					break
				}
			}
		}
		fmt.Fprintf(&b, `    <a href="%s"`, html.EscapeString(href))
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, ` data-requires-python="%s"`, html.EscapeString(f.RequiresPython))
		}
		if f.HasMetadata {
			val := "true"
			if algs := sortedKeys(f.Metadata); len(algs) > 0 {
				alg := algs[0]
				if f.Metadata["sha256"] != "" {
					alg = "sha256"
				}
				val = alg + "=" + f.Metadata[alg]
			}
			fmt.Fprintf(&b, ` data-dist-info-metadata="%s" data-core-metadata="%s"`, html.EscapeString(val), html.EscapeString(val))
		}
		if f.Yanked {
			fmt.Fprintf(&b, ` data-yanked="%s"`, html.EscapeString(f.YankedReason))
		}
		fmt.Fprintf(&b, ">%s</a><br />\n", html.EscapeString(f.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes(), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Merging (Config.Upstream.Merge): a local project's page also lists the
// upstream files of versions it does not have, served through the cache
// like those of an upstream-only project; local versions win, and a file
// name deleted locally stays gone.

// merging reports whether local projects show their upstream versions too.
func (h *Handler) merging() bool { return h.up != nil && h.cfg.Upstream.Merge }

// fileVersion is the normalized version in a distribution's file name.
func fileVersion(filename string) (string, bool) {
	fn, err := ParseFilename(filename)
	if err != nil {
		return "", false
	}
	v, err := ParseVersion(strings.ReplaceAll(fn.Version, "_", "-"))
	if err != nil {
		return "", false
	}
	return v.String(), true
}

// upstreamAddition reports whether the upstream file filename may be shown
// beside the local project doc.
func upstreamAddition(doc *projectDoc, filename string) bool {
	if _, deleted := doc.Deleted[filename]; deleted {
		return false
	}
	v, ok := fileVersion(filename)
	if !ok {
		return false
	}
	if _, local := doc.Releases[v]; local {
		return false
	}
	for _, f := range doc.Files {
		if f.Version == v || f.Filename == filename {
			return false
		}
	}
	return true
}

// mergedSimple serves the page of a local project with the upstream's
// additions; false when there are none to show (no upstream page).
func (h *Handler) mergedSimple(ctx context.Context, req *core.RequestContext, project string, v variant, ct string) (*core.Response, bool) {
	p, err := h.upstreamPage(ctx, req, project)
	if err != nil {
		if !errors.Is(err, core.ErrNotFound) {
			h.log.Warn("pypi: upstream versions left out", "project", project, "error", err)
		}
		return nil, false
	}
	doc, etag, err := h.loadProject(ctx, project)
	if err != nil {
		return nil, false
	}
	ck := pageKey{project: project, etag: "merge " + etag + " " + p.sum, variant: v}
	if body, ok := h.pages.get(ck); ok {
		return simpleResponse(ct, body), true
	}
	merged := upstreamPage{Name: project}
	for _, f := range doc.Files {
		uf := upstreamFile{Filename: f.Filename, Hashes: map[string]string{"sha256": f.SHA256},
			RequiresPython: f.RequiresPython, Size: f.Size, UploadTime: uploadTime(f.UploadTime)}
		if f.MetadataSHA256 != "" {
			uf.HasMetadata, uf.Metadata = true, map[string]string{"sha256": f.MetadataSHA256}
		}
		if r := doc.Releases[f.Version]; r.Yanked {
			uf.Yanked, uf.YankedReason = true, r.YankedReason
		}
		merged.Files = append(merged.Files, uf)
	}
	for _, f := range p.page.Files {
		if upstreamAddition(doc, f.Filename) {
			merged.Files = append(merged.Files, f)
		}
	}
	body, err := renderUpstreamPage(project, &merged, v)
	if err != nil {
		return nil, false
	}
	h.pages.put(ck, body)
	return simpleResponse(ct, body), true
}

// mergedFile reports whether filename, which err says the local project
// does not list, is an upstream addition to it.
func (h *Handler) mergedFile(ctx context.Context, project, filename string, err error) bool {
	if !h.merging() || !errors.Is(err, core.ErrNotFound) {
		return false
	}
	doc, _, lerr := h.loadProject(ctx, project)
	return lerr == nil && upstreamAddition(doc, filename)
}
