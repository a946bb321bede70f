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
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

func (h *Handler) redirectSimpleRoot(_ context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	return redirect(req, "/simple/"), nil
}

func (h *Handler) redirectSimpleProject(_ context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	_, norm, err := projectParam(p)
	if err != nil {
		return nil, err
	}
	return redirect(req, "/simple/"+norm+"/"), nil
}

// simpleIndex lists the projects the caller may read (PEP 503 / 691):
// those with files, which have a marker under pypi/index/, so that one
// listing answers without reading any project document.
func (h *Handler) simpleIndex(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	v, ct, err := negotiate(req.Header.Get("Accept"), req.Query.Get("format"))
	if err != nil {
		return nil, err
	}
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if p == nil && !h.deps.Auth.AnonymousRead(core.ProtocolPyPI) {
		return nil, fmt.Errorf("%w: the index needs credentials", core.ErrUnauthorized)
	}
	var names []string
	opts := core.ListOptions{Delimiter: "/"}
	for {
		page, err := h.deps.Storage.List(ctx, indexPrefix, opts)
		if err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		for _, o := range page.Objects {
			name := strings.TrimPrefix(o.Key, indexPrefix)
			if h.deps.Auth.Allowed(ctx, p, packageScope(name, core.ActionRead)) {
				names = append(names, name)
			}
		}
		if page.NextStartAfter == "" {
			break
		}
		opts.StartAfter = page.NextStartAfter
	}
	var body []byte
	if v == variantJSON {
		type project struct {
			Name string `json:"name"`
		}
		doc := struct {
			Meta     simpleMeta `json:"meta"`
			Projects []project  `json:"projects"`
		}{Meta: simpleMeta{APIVersion: apiVersion}, Projects: make([]project, 0, len(names))}
		for _, n := range names {
			doc.Projects = append(doc.Projects, project{Name: n})
		}
		if body, err = marshalJSON(doc); err != nil {
			return nil, err
		}
	} else {
		var b bytes.Buffer
		writeHTMLHead(&b, "Simple index")
		for _, n := range names {
			fmt.Fprintf(&b, "    <a href=\"%s/\">%s</a><br />\n", url.PathEscape(n), html.EscapeString(n))
		}
		b.WriteString("  </body>\n</html>\n")
		body = b.Bytes()
	}
	return simpleResponse(ct, body), nil
}

// simpleProject serves /simple/<project>/ in the negotiated variant. A name
// that is not normalized is redirected to the normalized URL.
func (h *Handler) simpleProject(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, norm, err := projectParam(p)
	if err != nil {
		return nil, err
	}
	if name != norm {
		return redirect(req, "/simple/"+norm+"/"), nil
	}
	v, ct, err := negotiate(req.Header.Get("Accept"), req.Query.Get("format"))
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, norm, core.ActionRead); err != nil {
		return nil, err
	}
	info, err := h.deps.Storage.Stat(ctx, projectKey(norm))
	if h.up != nil && errors.Is(err, core.ErrNotFound) {
		return h.upstreamSimple(ctx, req, norm, v, ct)
	}
	if err != nil {
		return nil, h.projectError(norm, err)
	}
	if h.merging() {
		if resp, ok := h.mergedSimple(ctx, req, norm, v, ct); ok {
			return resp, nil
		}
	}
	ck := pageKey{project: norm, etag: info.ETag, variant: v}
	if body, ok := h.pages.get(ck); ok {
		return simpleResponse(ct, body), nil
	}
	doc, etag, err := h.loadServedProject(ctx, norm)
	if err != nil {
		return nil, err
	}
	body, err := renderProjectPage(norm, doc, v)
	if err != nil {
		return nil, err
	}
	ck.etag = etag
	h.pages.put(ck, body)
	return simpleResponse(ct, body), nil
}

func (h *Handler) projectError(project string, err error) error {
	if core.HTTPStatus(err) == http.StatusNotFound {
		return fmt.Errorf("%w: project %s", core.ErrNotFound, project)
	}
	return fmt.Errorf("stat project %s: %w", project, err)
}

func simpleResponse(contentType string, body []byte) *core.Response {
	resp := core.BytesResponse(http.StatusOK, contentType, body)
	resp.Header.Set("Vary", "Accept")
	return resp
}

// simpleMeta is the "meta" object of a PEP 691 response.
type simpleMeta struct {
	APIVersion string `json:"api-version"`
}

// simpleFile is one file of a PEP 691 project page, with the PEP 700 and
// PEP 714 keys. PEP 714 keeps the old name dist-info-metadata out of JSON
// pages (it stays in HTML): pip 23.0 and older crash on it
// ("unhashable type: 'dict'").
type simpleFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	CoreMetadata   any               `json:"core-metadata"`
	Yanked         any               `json:"yanked"`
	Size           int64             `json:"size"`
	UploadTime     string            `json:"upload-time"`
}

// fileHref is the link from /simple/<project>/ to a file. It is relative,
// so a rendered page does not depend on the host the client used.
func fileHref(project, filename string) string {
	return "../../packages/" + url.PathEscape(project) + "/" + url.PathEscape(filename)
}

// uploadTime formats a time as PEP 700 asks (ISO 8601, UTC, "Z").
func uploadTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// renderProjectPage renders a project's simple page. Pure: the same
// document gives the same bytes, which is what makes pages cacheable.
func renderProjectPage(project string, doc *projectDoc, v variant) ([]byte, error) {
	if v == variantJSON {
		out := struct {
			Meta     simpleMeta   `json:"meta"`
			Name     string       `json:"name"`
			Versions []string     `json:"versions"`
			Files    []simpleFile `json:"files"`
		}{Meta: simpleMeta{APIVersion: apiVersion}, Name: project, Versions: doc.versions(),
			Files: make([]simpleFile, 0, len(doc.Files))}
		for _, f := range doc.Files {
			sf := simpleFile{
				Filename: f.Filename, URL: fileHref(project, f.Filename),
				Hashes:         map[string]string{"sha256": f.SHA256},
				RequiresPython: f.RequiresPython, CoreMetadata: false, Yanked: false,
				Size: f.Size, UploadTime: uploadTime(f.UploadTime),
			}
			if f.MetadataSHA256 != "" {
				sf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
			}
			if r := doc.Releases[f.Version]; r.Yanked {
				sf.Yanked = true
				if r.YankedReason != "" {
					sf.Yanked = r.YankedReason
				}
			}
			out.Files = append(out.Files, sf)
		}
		return marshalJSON(out)
	}
	var b bytes.Buffer
	writeHTMLHead(&b, "Links for "+project)
	for _, f := range doc.Files {
		fmt.Fprintf(&b, `    <a href="%s#sha256=%s"`, html.EscapeString(fileHref(project, f.Filename)), f.SHA256)
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, ` data-requires-python="%s"`, html.EscapeString(f.RequiresPython))
		}
		if f.MetadataSHA256 != "" {
			fmt.Fprintf(&b, ` data-dist-info-metadata="sha256=%s" data-core-metadata="sha256=%s"`, f.MetadataSHA256, f.MetadataSHA256)
		}
		if r := doc.Releases[f.Version]; r.Yanked {
			fmt.Fprintf(&b, ` data-yanked="%s"`, html.EscapeString(r.YankedReason))
		}
		fmt.Fprintf(&b, ">%s</a><br />\n", html.EscapeString(f.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes(), nil
}

// marshalJSON encodes v as the public index does, without escaping <, >
// and & (requires-python specifiers are full of them).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return b.Bytes(), nil
}

// writeHTMLHead starts a PEP 503 page with the api-version meta tag.
func writeHTMLHead(b *bytes.Buffer, title string) {
	t := html.EscapeString(title)
	fmt.Fprintf(b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"%s\">\n"+
		"    <title>%s</title>\n  </head>\n  <body>\n    <h1>%s</h1>\n", apiVersion, t, t)
}

// pageKey identifies a rendered page: the ETag pins the document version.
type pageKey struct {
	project string
	etag    string
	variant variant
}

// pageCache keeps rendered project pages. Entries are never stale, because
// the key holds the document's ETag; when full, an arbitrary entry goes.
type pageCache struct {
	mu    sync.Mutex
	max   int
	pages map[pageKey][]byte
}

func newPageCache(n int) *pageCache {
	return &pageCache{max: n, pages: map[pageKey][]byte{}}
}

func (c *pageCache) get(k pageKey) ([]byte, bool) {
	if c.max <= 0 || k.etag == "" {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.pages[k]
	return b, ok
}

func (c *pageCache) put(k pageKey, b []byte) {
	if c.max <= 0 || k.etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for old := range c.pages {
		if old.project == k.project && old.variant == k.variant {
			delete(c.pages, old)
		}
	}
	if len(c.pages) >= c.max {
		for old := range c.pages {
			delete(c.pages, old)
			break
		}
	}
	c.pages[k] = b
}
