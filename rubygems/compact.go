package rubygems

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// versionsIndex serves GET /versions: every gem with its versions and the
// MD5 of its info file, append-only (see versionsFile).
func (h *Handler) versionsIndex(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	if err := h.mayReadIndex(ctx, req); err != nil {
		return nil, err
	}
	snap, err := h.versionsWithUpstreams(ctx)
	if err != nil {
		return nil, err
	}
	return serveIndexFile(req, snap.body, snap.md5, snap.sha256)
}

// root serves GET /: a short text, so that gem install, which asks for
// the source's root first, uses the compact index.
func (h *Handler) root(context.Context, *core.RequestContext, route.Params) (*core.Response, error) {
	return core.BytesResponse(http.StatusOK, "text/plain; charset=utf-8",
		[]byte("RubyGems registry: compact index at versions, info/<gem>, names; API at api/v1\n")), nil
}

// namesFile is a rendered /names, valid for one /versions record.
type namesFile struct {
	seq    int64
	body   []byte
	md5    string
	sha256 []byte
}

// names serves GET /names: "---", then every gem name that has a version
// listed, sorted.
func (h *Handler) names(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	if err := h.mayReadIndex(ctx, req); err != nil {
		return nil, err
	}
	var f *namesFile
	err := h.versions.withGems(ctx, func(seq int64, gems map[string]*listedGem) {
		h.namesFile.mu.Lock()
		defer h.namesFile.mu.Unlock()
		if h.namesFile.file != nil && h.namesFile.file.seq == seq {
			f = h.namesFile.file
			return
		}
		names := make([]string, 0, len(gems))
		for name, g := range gems {
			if len(g.ids) > 0 {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		body := []byte("---\n" + strings.Join(names, "\n"))
		if len(names) > 0 {
			body = append(body, '\n')
		}
		m, s := md5.Sum(body), sha256.Sum256(body)
		f = &namesFile{seq: seq, body: body, md5: hex.EncodeToString(m[:]), sha256: s[:]}
		h.namesFile.file = f
	})
	if err != nil {
		return nil, err
	}
	return serveIndexFile(req, f.body, f.md5, f.sha256)
}

// namesCache keeps the rendered /names.
type namesCache struct {
	mu   sync.Mutex
	file *namesFile
}

// info serves GET /info/<gem>: one line per version with its dependencies
// and checksum, rendered from the gem document and cached by its ETag.
func (h *Handler) info(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["gem"]
	if err := ValidateName(name); err != nil {
		return nil, fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	e, err := h.loadInfo(ctx, name)
	if h.proxied(err) {
		return h.upstreamInfo(ctx, req, name)
	}
	if err != nil {
		return nil, err
	}
	return serveIndexFile(req, e.info.body, e.info.md5, e.info.sha256)
}

// serveIndexFile answers a compact index file as bundler expects it:
// ETag (the quoted MD5 of the whole body), Repr-Digest (its SHA-256),
// Accept-Ranges, 304 for a matching If-None-Match, and 206 with the tail
// for Range: bytes=N-.
func serveIndexFile(req *core.RequestContext, body []byte, md5hex string, sum []byte) (*core.Response, error) {
	etag := `"` + md5hex + `"`
	set := func(r *core.Response) *core.Response {
		r.Header.Set("ETag", etag)
		r.Header.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
		r.Header.Set("Accept-Ranges", "bytes")
		r.Header.Set("Cache-Control", "max-age=60, public")
		return r
	}
	if inm := req.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		return set(core.NewResponse(http.StatusNotModified)), nil
	}
	const ct = "text/plain; charset=utf-8"
	rng := req.Header.Get("Range")
	if rng == "" {
		return set(core.BytesResponse(http.StatusOK, ct, body)), nil
	}
	start, ok := parseOpenRange(rng)
	if !ok {
		return set(core.BytesResponse(http.StatusOK, ct, body)), nil // a range we do not serve: the whole file
	}
	size := int64(len(body))
	if start >= size {
		r := core.NewResponse(http.StatusRequestedRangeNotSatisfiable)
		r.Header.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return set(r), nil
	}
	r := core.BytesResponse(http.StatusPartialContent, ct, body[start:])
	r.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, size-1, size))
	return set(r), nil
}

// parseOpenRange reads "bytes=N-", the only form bundler sends.
func parseOpenRange(h string) (int64, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok {
		return 0, false
	}
	from, ok := strings.CutSuffix(spec, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(from, 10, 64)
	return n, err == nil && n >= 0
}

// etagMatches reports whether an If-None-Match header names etag (weak
// or strong) or is "*".
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
