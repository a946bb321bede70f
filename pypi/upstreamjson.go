package pypi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// The JSON API of a project held upstream (/<project>/json and
// /<project>/<version>/json) is built from its proxied simple page, not
// asked of the upstream: the page is what every upstream serves (another
// registry's JSON API may not exist, or live elsewhere than below the URL
// pip is given), it is cached already, and its file URLs point here, so
// "urls" and "releases" download through the cache like the page's links.
// Files, digests, sizes, upload times, requires_python and yanked come
// from the page; a release is yanked when all its files are. "info" comes
// from the core metadata of the release's first file (a wheel when there
// is one): its <filename>.metadata, fetched through the cache when the
// page announces one (pip fetches the same file when it resolves), else
// only the name and version. last_serial is 0.

// upstreamProject returns the document the JSON API renders for a
// project held upstream, made from its simple page, and that page.
func (h *Handler) upstreamProject(ctx context.Context, req *core.RequestContext, project string) (*projectDoc, *proxyPage, error) {
	p, err := h.upstreamPage(ctx, req, project)
	if err != nil {
		return nil, nil, err
	}
	doc := &projectDoc{Name: p.page.Name, Releases: map[string]releaseRecord{}}
	unyanked := map[string]bool{}
	for _, f := range p.page.Files {
		fn, err := ParseFilename(f.Filename)
		v, ok := fileVersion(f.Filename)
		if err != nil || !ok {
			continue
		}
		uploaded, _ := time.Parse(time.RFC3339Nano, f.UploadTime)
		doc.Files = append(doc.Files, fileRecord{Filename: f.Filename, Version: v, Type: fn.Type,
			PythonVersion: fn.PythonTag, RequiresPython: f.RequiresPython, Size: f.Size, SHA256: f.Hashes["sha256"],
			MD5: f.Hashes["md5"], BLAKE2b256: f.Hashes["blake2b_256"], UploadTime: uploaded})
		r, seen := doc.Releases[v]
		if !seen || (!uploaded.IsZero() && uploaded.Before(r.Created)) {
			r.Created = uploaded
		}
		if f.Yanked && r.YankedReason == "" {
			r.YankedReason = f.YankedReason
		}
		unyanked[v] = unyanked[v] || !f.Yanked
		doc.Releases[v] = r
	}
	for v, r := range doc.Releases {
		r.Yanked = !unyanked[v]
		if !r.Yanked {
			r.YankedReason = ""
		}
		doc.Releases[v] = r
	}
	if len(doc.Files) == 0 {
		return nil, nil, fmt.Errorf("%w: project %s has no files", core.ErrNotFound, project)
	}
	return doc, p, nil
}

// upstreamMetadata returns the core metadata of an upstream file f of
// page: its cached <filename>.metadata, else fetched through the cache
// when the page announces one; without it (or when it cannot be had) the
// name and version alone.
func (h *Handler) upstreamMetadata(ctx context.Context, req *core.RequestContext, project string, page *proxyPage, f fileRecord) Metadata {
	plain := Metadata{Name: page.page.Name, Version: f.Version}
	uf, ok := page.page.file(f.Filename)
	if !ok || !uf.HasMetadata {
		return plain
	}
	get := *req
	get.Method = http.MethodGet
	resp, err := h.upstreamDownload(ctx, &get, project, f.Filename, true)
	if err != nil {
		h.log.DebugContext(ctx, "pypi: upstream metadata left out of the JSON API", "project", project,
			"file", f.Filename, "error", err)
		return plain
	}
	if resp.Body == nil {
		return plain
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxMetadataSize+1))
	if err != nil || int64(len(b)) > h.cfg.MaxMetadataSize {
		return plain
	}
	m, err := ParseMetadata(b)
	if err != nil {
		return plain
	}
	return m
}
