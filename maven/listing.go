package maven

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// maxListing bounds the entries of one directory listing.
const maxListing = 10000

// listRoot serves GET / : the top-level group directories.
func (h *Handler) listRoot(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	if _, err := h.authorize(ctx, req, "*", "*", core.ActionRead); err != nil {
		return nil, err
	}
	return h.listing(ctx, req, nil)
}

// list serves GET <dir>/ : a simple HTML listing of a group, artifact or
// version directory, as tools that browse a repository expect. The caller
// must be allowed to read the directory's artifact (an artifact or
// version directory) or every artifact below it (a group directory).
func (h *Handler) list(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	segs, err := ParsePath(p["dir"])
	if err != nil {
		return nil, err
	}
	n := len(segs)
	p0, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	var wants []core.Scope
	for i := 1; i <= 2 && i < n; i++ {
		wants = append(wants, ArtifactScope(strings.Join(segs[:n-i], "."), segs[n-i], core.ActionRead))
	}
	allowed := false
	for _, w := range wants {
		if h.deps.Auth.Allowed(ctx, p0, w) {
			allowed = true
			break
		}
	}
	if !allowed {
		if err := h.deps.Auth.Authorize(ctx, p0, ArtifactScope(strings.Join(segs, "."), "*", core.ActionRead)); err != nil {
			return nil, err
		}
	}
	return h.listing(ctx, req, segs)
}

// listing renders the directory dir (nil for the root).
func (h *Handler) listing(ctx context.Context, req *core.RequestContext, dir []string) (*core.Response, error) {
	ctx = core.WithKind(ctx, core.KindMetadata)
	prefix := dirPrefix("")
	if len(dir) > 0 {
		prefix = dirPrefix(strings.Join(dir, "/") + "/")
	}
	var names []string
	opts := core.ListOptions{Delimiter: "/"}
	for len(names) < maxListing {
		page, err := h.deps.Storage.List(ctx, prefix, opts)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", strings.Join(dir, "/"), err)
		}
		for _, cp := range page.CommonPrefixes {
			names = append(names, strings.TrimPrefix(cp, prefix))
		}
		for _, o := range page.Objects {
			more, err := h.docEntries(ctx, dir, strings.TrimPrefix(o.Key, prefix))
			if err != nil {
				return nil, err
			}
			names = append(names, more...)
		}
		if page.NextStartAfter == "" {
			break
		}
		opts.StartAfter = page.NextStartAfter
	}
	if len(names) == 0 && len(dir) > 0 {
		return nil, fmt.Errorf("%w: %s/", core.ErrNotFound, strings.Join(dir, "/"))
	}
	title := html.EscapeString(req.BaseURL + "/" + strings.Join(dir, "/"))
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head><title>Index of %s</title></head>\n<body>\n<h1>Index of %s</h1>\n<pre>\n", title, title)
	if len(dir) > 0 {
		b.WriteString("<a href=\"../\">../</a>\n")
	}
	for _, n := range names {
		e := html.EscapeString(n)
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>\n", e, e)
	}
	b.WriteString("</pre>\n</body>\n</html>\n")
	return core.BytesResponse(http.StatusOK, "text/html; charset=utf-8", b.Bytes()), nil
}

// docEntries lists what a document in a directory stands for: the
// metadata file and its checksums for a group or artifact document, the
// listed files (and for a SNAPSHOT the metadata) for a version document.
func (h *Handler) docEntries(ctx context.Context, dir []string, name string) ([]string, error) {
	withSums := func(file string) []string {
		out := []string{file}
		for _, a := range ChecksumAlgorithms {
			out = append(out, file+"."+a)
		}
		return out
	}
	n := len(dir)
	switch {
	case name == groupDocName || name == artifactDocName:
		return withSums(MetadataFile), nil
	case name == versionDocName && n >= 3:
		ed, _, err := core.GetEntryDoc[versionHead](ctx, h.deps.Storage, dirPrefix(strings.Join(dir, "/")+"/"+name))
		if errors.Is(err, core.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var out []string
		if IsSnapshot(dir[n-1]) {
			out = withSums(MetadataFile)
		}
		for file := range ed.All() {
			out = append(out, withSums(file)...)
		}
		return out, nil
	}
	return nil, nil
}
