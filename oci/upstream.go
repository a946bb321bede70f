package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/upstream"
)

// Proxying (pull-through caching). A repository nothing was pushed to here
// is asked of the upstream registries core.Deps.Upstream names for it
// (scope rules included); each upstream URL is a registry host, what a
// client is pointed at (https://registry-1.docker.io), and its API is
// asked at <URL>/v2/. Docker Hub's one-segment names are asked below
// library/, and a registry's Bearer challenge is answered with a token
// from its realm (see upstreamhttp.go).
//
//   - A tag's manifest is a document cached with Config.Upstream's
//     MetadataTTL (body, Content-Type and digest, asked with the client's
//     Accept plus every manifest type this registry serves, so an index
//     comes back as it is), and is kept by digest too.
//   - Manifests and blobs by digest are immutable: fetched when first
//     asked for, streamed to the client and into blobs/ in one pass,
//     checked against the digest (a truncated or mismatching body fails
//     the client's answer and is never stored), and kept for good. The
//     platform manifests of an index are fetched only when a client asks
//     for them. Once stored, they are served exactly like local ones
//     (Range, Docker-Content-Digest, Content-Type).
//   - A HEAD of a blob not held here asks the upstream for its headers only.
//   - The tags list is the upstream's, cached with the TTL.
//
// What an upstream serves in a repository is recorded apart from the local
// repositories (paths.go: oci/upstream/<name>/), so that bytes stored once
// in blobs/ for a local repository are not served under a proxied name
// unless an upstream serves them there. A local repository shadows the
// upstream one entirely, unless Config.Upstream.Merge is on: then its tags
// list merges both (local tags win), and a tag or digest missing locally
// is asked upstream. Pushes never go upstream. Reading (pull) is all a
// fetch needs, unless Config.Upstream.NewNamesNeedWrite asks for push
// before a repository is first fetched.

// newUpstreamClient returns the client of deps.Upstream, or nil when the
// registry proxies nothing (upstream.FromDeps); unlike the other
// protocols', its transport answers Bearer challenges.
func newUpstreamClient(deps core.Deps, cfg Config) (*upstream.Client, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 16
	return upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolOCI, Policy: cfg.Upstream,
		HTTPClient: &http.Client{Transport: newRegistryTransport(base)}})
}

// Upstream returns the client that fetches from the upstreams, or nil when
// none are configured; its Breakers report their circuit breakers.
func (h *Handler) Upstream() *upstream.Client { return h.up }

// proxied reports whether what repository name lacks locally may be asked
// upstream: an upstream serves the name, and nothing was pushed to it here
// (or Policy.Merge is on).
func (h *Handler) proxied(ctx context.Context, name string) (bool, error) {
	if h.up == nil || len(h.up.Upstreams(ctx, name)) == 0 {
		return false, nil
	}
	if h.cfg.Upstream.Merge {
		return true, nil
	}
	local, err := h.repoExists(ctx, name)
	return !local, err
}

// authorizeFetch asks, when Policy.NewNamesNeedWrite is on, for push
// rights from a caller whose request would fetch a repository nothing of
// which is cached yet.
func (h *Handler) authorizeFetch(ctx context.Context, req *core.RequestContext, name string) error {
	if !h.cfg.Upstream.NewNamesNeedWrite {
		return nil
	}
	page, err := h.deps.Storage.List(ctx, upstreamRepoKey(name)+"_", core.ListOptions{Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Objects) > 0 {
		return nil
	}
	_, err = h.authorize(ctx, req, name, core.ActionWrite)
	return err
}

// upstreamError turns an upstream's 404 into the spec's error for what was
// asked (notFound).
func upstreamError(err error, notFound *Error, what string) error {
	if errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("%w: %s", notFound, what)
	}
	return err
}

// stored reports whether the object at key exists; a storage failure is
// an error.
func (h *Handler) stored(ctx context.Context, key string) (bool, error) {
	_, err := h.deps.Storage.Stat(ctx, key)
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// upstreamBlob serves GET or HEAD of blob d of a proxied repository that
// holds no local link to it.
func (h *Handler) upstreamBlob(ctx context.Context, req *core.RequestContext, name string, d Digest) (*core.Response, error) {
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name, Version: d.String()})
	linked, err := h.stored(ctx, upstreamLayerKey(name, d))
	if err != nil {
		return nil, err
	}
	if linked {
		info, err := h.deps.Storage.Stat(ctx, blobKey(d))
		if err == nil {
			return h.serveBlob(ctx, req, d, info)
		}
		if !errors.Is(err, core.ErrNotFound) {
			return nil, err
		}
	}
	if err := h.authorizeFetch(ctx, req, name); err != nil {
		return nil, err
	}
	path := "/v2/" + name + "/blobs/" + d.String()
	if req.Method == http.MethodHead {
		return h.upstreamBlobHead(ctx, name, d)
	}
	digest, err := upstream.HexDigest(d.Algorithm, d.Hex)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDigestInvalid, err)
	}
	h.fills.Maybe()
	a, err := h.up.Artifact(ctx, upstream.ArtifactRequest{Name: name, Key: blobKey(d), Path: path,
		StagePrefix: fillsPrefix, Digests: []upstream.Digest{digest}})
	if err != nil {
		return nil, upstreamError(err, ErrBlobUnknown, d.String())
	}
	if a.Cached {
		// The bytes are here for another repository: served under name
		// only when an upstream serves them there.
		a.Body.Close()
		if _, err := h.upstreamBlobHead(ctx, name, d); err != nil {
			return nil, err
		}
	}
	if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindMetadata), upstreamLayerKey(name, d),
		bytes.NewReader(nil), 0, core.PutOptions{}); err != nil {
		if !a.Cached {
			a.Body.Close()
		}
		return nil, fmt.Errorf("link upstream blob %s into %s: %w", d, name, err)
	}
	if a.Cached {
		info, err := h.deps.Storage.Stat(ctx, blobKey(d))
		if err != nil {
			return nil, blobError(err, d)
		}
		return h.serveBlob(ctx, req, d, info)
	}
	// The first answer streams as it arrives, whole (a Range is honoured
	// from the next request on).
	resp := core.StreamResponse(http.StatusOK, "", a.Body, a.Size)
	blobHeaders(resp, d)
	return resp, nil
}

// upstreamBlobHead answers HEAD of blob d from the upstream's headers.
func (h *Handler) upstreamBlobHead(ctx context.Context, name string, d Digest) (*core.Response, error) {
	up, err := h.up.Head(ctx, name, "/v2/"+name+"/blobs/"+d.String(), nil)
	if err != nil {
		return nil, upstreamError(err, ErrBlobUnknown, d.String())
	}
	up.Body.Close()
	if got := up.Header.Get("Docker-Content-Digest"); got != "" && got != d.String() {
		return nil, fmt.Errorf("%w: upstream %s answers %s for blob %s", core.ErrUnavailable, up.Upstream.Name, got, d)
	}
	resp := core.NewResponse(http.StatusOK)
	if size, err := strconv.ParseInt(up.Header.Get("Content-Length"), 10, 64); err == nil && size >= 0 {
		resp.Header.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	blobHeaders(resp, d)
	return resp, nil
}

// manifestAccept is the Accept header of an upstream manifest request: the
// client's, and every manifest type this registry serves, so that the
// upstream answers with the manifest as it is (an index as an index).
func manifestAccept(req *core.RequestContext) http.Header {
	accept := []string{MediaTypeImageIndex, MediaTypeImageManifest, MediaTypeDockerList, MediaTypeDockerManifest}
	for _, v := range req.Header.Values("Accept") {
		for mt := range strings.SplitSeq(v, ",") {
			if mt = strings.TrimSpace(mt); mt != "" && !slices.Contains(accept, mt) {
				accept = append(accept, mt)
			}
		}
	}
	return http.Header{"Accept": {strings.Join(accept, ", ")}}
}

// upstreamManifest serves GET or HEAD of a manifest of a proxied
// repository that holds no local one under ref.
func (h *Handler) upstreamManifest(ctx context.Context, req *core.RequestContext, name string, ref reference) (*core.Response, error) {
	if ref.tag != "" {
		return h.upstreamTag(ctx, req, name, ref.tag)
	}
	d := ref.digest
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name, Version: d.String()})
	var link manifestLink
	_, err := core.GetJSON(ctx, h.deps.Storage, upstreamManifestKey(name, d), &link)
	if err == nil {
		resp, err := h.serveManifest(ctx, req, name, d, link)
		if !errors.Is(err, ErrManifestUnknown) {
			return resp, err
		}
	} else if !errors.Is(err, core.ErrNotFound) {
		return nil, err
	}
	if err := h.authorizeFetch(ctx, req, name); err != nil {
		return nil, err
	}
	digest, err := upstream.HexDigest(d.Algorithm, d.Hex)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDigestInvalid, err)
	}
	h.fills.Maybe()
	path := "/v2/" + name + "/manifests/" + d.String()
	a, err := h.up.Artifact(ctx, upstream.ArtifactRequest{Name: name, Key: blobKey(d), Path: path,
		Header: manifestAccept(req), StagePrefix: fillsPrefix, Digests: []upstream.Digest{digest}})
	if err != nil {
		return nil, upstreamError(err, ErrManifestUnknown, name+"@"+d.String())
	}
	body, err := io.ReadAll(io.LimitReader(a.Body, h.cfg.MaxManifestSize+1))
	a.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %s@%s: %w", core.ErrUnavailable, name, d, err)
	}
	if int64(len(body)) > h.cfg.MaxManifestSize {
		return nil, fmt.Errorf("%w: upstream manifest %s@%s is over %d bytes", core.ErrUnavailable, name, d, h.cfg.MaxManifestSize)
	}
	if a.Cached {
		// Stored for another repository: served under name only when an
		// upstream serves it there.
		up, err := h.up.Head(ctx, name, path, manifestAccept(req))
		if err != nil {
			return nil, upstreamError(err, ErrManifestUnknown, name+"@"+d.String())
		}
		up.Body.Close()
	}
	_, mediaType, err := ParseManifest(body, "")
	if err != nil {
		return nil, fmt.Errorf("%w: upstream manifest %s@%s: %w", core.ErrUnavailable, name, d, err)
	}
	link = manifestLink{MediaType: mediaType, Size: int64(len(body))}
	if _, err := core.PutJSON(core.WithKind(ctx, core.KindMetadata), h.deps.Storage, upstreamManifestKey(name, d), link, core.PutOptions{}); err != nil {
		return nil, fmt.Errorf("link upstream manifest %s into %s: %w", d, name, err)
	}
	return manifestResponse(req, d, link, io.NopCloser(bytes.NewReader(body))), nil
}

// upstreamTagDoc returns the upstream's manifest of tag, through the
// cache, with its digest and media type.
func (h *Handler) upstreamTagDoc(ctx context.Context, req *core.RequestContext, name, tag string) (*upstream.Document, Digest, manifestLink, error) {
	doc, err := h.up.Metadata(ctx, upstream.MetadataRequest{Name: name, Key: upstreamTagKey(name, tag),
		Path: "/v2/" + name + "/manifests/" + tag, Header: manifestAccept(req),
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			_, _, err := ParseManifest(body, "")
			return body, err
		}})
	if err != nil {
		return nil, Digest{}, manifestLink{}, upstreamError(err, ErrManifestUnknown, name+":"+tag)
	}
	_, mediaType, err := ParseManifest(doc.Body, doc.ContentType)
	if err != nil {
		if _, mediaType, err = ParseManifest(doc.Body, ""); err != nil {
			return nil, Digest{}, manifestLink{}, fmt.Errorf("%w: upstream manifest %s:%s: %w", core.ErrUnavailable, name, tag, err)
		}
	}
	return doc, Digest{Algorithm: "sha256", Hex: doc.Sum}, manifestLink{MediaType: mediaType, Size: int64(len(doc.Body))}, nil
}

// upstreamTag serves GET or HEAD of the upstream's manifest of tag, and
// keeps it by digest, so that a pull that resolved the tag finds it by
// digest too.
func (h *Handler) upstreamTag(ctx context.Context, req *core.RequestContext, name, tag string) (*core.Response, error) {
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name, Version: tag})
	if err := h.authorizeFetch(ctx, req, name); err != nil {
		return nil, err
	}
	doc, d, link, err := h.upstreamTagDoc(ctx, req, name, tag)
	if err != nil {
		return nil, err
	}
	if err := h.keepManifest(ctx, name, d, link, doc.Body); err != nil {
		h.log.WarnContext(ctx, "oci: keeping an upstream manifest by digest failed", "repository", name, "digest", d.String(), "error", err)
	}
	return manifestResponse(req, d, link, io.NopCloser(bytes.NewReader(doc.Body))), nil
}

// maxKept bounds the entries of Handler.kept.
const maxKept = 1 << 16

// keepManifest stores an upstream manifest by digest (once per process
// and repository).
func (h *Handler) keepManifest(ctx context.Context, name string, d Digest, link manifestLink, body []byte) error {
	id := name + "@" + d.String()
	if _, ok := h.kept.Load(id); ok {
		return nil
	}
	if h.keptCount.Add(1) > maxKept {
		h.kept.Clear() // forgetting costs a Stat and a small write
		h.keptCount.Store(1)
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Version: d.String()})
	st := h.deps.Storage
	if ok, err := h.stored(ctx, blobKey(d)); err != nil {
		return err
	} else if !ok {
		if _, err := st.Put(core.WithKind(ctx, core.KindArtifact), blobKey(d), bytes.NewReader(body), int64(len(body)),
			core.PutOptions{ContentType: link.MediaType}); err != nil {
			return err
		}
	}
	if _, err := core.PutJSON(core.WithKind(ctx, core.KindMetadata), st, upstreamManifestKey(name, d), link, core.PutOptions{}); err != nil {
		return err
	}
	h.kept.Store(id, struct{}{})
	return nil
}

// upstreamTags returns the tags the upstreams list for name, through the
// cache; found is false when no upstream has the repository.
func (h *Handler) upstreamTags(ctx context.Context, name string) (tags []string, found bool, err error) {
	doc, err := h.up.Metadata(core.WithObject(ctx, core.ObjectRef{Package: name}), upstream.MetadataRequest{
		Name: name, Key: upstreamTagListKey(name), Path: "/v2/" + name + "/tags/list",
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			_, err := parseTagList(body)
			return body, err
		}})
	if errors.Is(err, core.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	tags, err = parseTagList(doc.Body)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", core.ErrUnavailable, err)
	}
	return tags, true, nil
}

// parseTagList decodes an upstream's tags list, keeping valid tags.
func parseTagList(body []byte) ([]string, error) {
	var l struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("upstream tags list: %w", err)
	}
	out := make([]string, 0, len(l.Tags))
	for _, t := range l.Tags {
		if ValidTag(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// listUpstreamTags serves the tags list of a proxied repository: the
// upstream's, merged with the local tags when there are any (Merge), in
// lexical order, n at a time after last.
func (h *Handler) listUpstreamTags(ctx context.Context, req *core.RequestContext, name string, n int, last string) (*core.Response, error) {
	if err := h.authorizeFetch(ctx, req, name); err != nil {
		return nil, err
	}
	tags, found, err := h.upstreamTags(ctx, name)
	if err != nil {
		return nil, err
	}
	var local []string
	err = h.deps.Storage.Walk(ctx, tagsPrefix(name), func(o core.ObjectInfo) error {
		local = append(local, strings.TrimPrefix(o.Key, tagsPrefix(name)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", name, err)
	}
	if !found && len(local) == 0 {
		exists, err := h.repoExists(ctx, name)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("%w: %s", ErrNameUnknown, name)
		}
	}
	tags = append(tags, local...)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	page, more := tagPage(tags, n, last)
	resp := core.JSONResponse(http.StatusOK, tagList{Name: name, Tags: page})
	if more {
		setNextLink(resp, req, "/v2/"+name+"/tags/list", n, page[len(page)-1])
	}
	return resp, nil
}

// tagPage returns the n tags of sorted after last (all when n < 0) and
// whether more follow.
func tagPage(sorted []string, n int, last string) ([]string, bool) {
	if last != "" {
		i, found := slices.BinarySearch(sorted, last)
		if found {
			i++
		}
		sorted = sorted[i:]
	}
	if sorted == nil {
		sorted = []string{}
	}
	if n < 0 || len(sorted) <= n {
		return sorted, false
	}
	return sorted[:n], n > 0
}
