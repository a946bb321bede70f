package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// manifestLink records a manifest pushed to a repository.
type manifestLink struct {
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// tagLink records the digest a tag points at.
type tagLink struct {
	Digest string `json:"digest"`
}

// errChildManifestUnknown refuses an index whose child manifests were not
// pushed to the repository first.
var errChildManifestUnknown = &Error{Code: "MANIFEST_UNKNOWN", Message: "manifest references a manifest unknown to registry", category: core.ErrInvalidArgument}

// reference is a manifest reference: a tag or a digest.
type reference struct {
	tag    string
	digest Digest
}

func parseReference(ref string) (reference, error) {
	if ValidTag(ref) {
		return reference{tag: ref}, nil
	}
	d, err := ParseDigest(ref)
	if err != nil {
		return reference{}, fmt.Errorf("%w: %q", ErrReferenceInvalid, ref)
	}
	return reference{digest: d}, nil
}

// resolve returns the digest a reference names in repository name.
func (h *Handler) resolve(ctx context.Context, name string, ref reference) (Digest, error) {
	if ref.tag == "" {
		return ref.digest, nil
	}
	var t tagLink
	if _, err := core.GetJSON(ctx, h.deps.Storage, tagKey(name, ref.tag), &t); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return Digest{}, fmt.Errorf("%w: %s:%s", ErrManifestUnknown, name, ref.tag)
		}
		return Digest{}, err
	}
	return ParseDigest(t.Digest)
}

// manifestInfo reads the link of manifest d in repository name.
func (h *Handler) manifestInfo(ctx context.Context, name string, d Digest) (manifestLink, error) {
	var l manifestLink
	if _, err := core.GetJSON(ctx, h.deps.Storage, manifestLinkKey(name, d), &l); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return l, fmt.Errorf("%w: %s@%s", ErrManifestUnknown, name, d)
		}
		return l, err
	}
	return l, nil
}

// getManifest serves GET and HEAD of a manifest by tag or digest, with the
// media type it was pushed with.
func (h *Handler) getManifest(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	ref, err := parseReference(p["reference"])
	if err != nil {
		return nil, err
	}
	d, err := h.resolve(ctx, name, ref)
	var link manifestLink
	if err == nil {
		link, err = h.manifestInfo(ctx, name, d)
	}
	if errors.Is(err, ErrManifestUnknown) {
		if ok, perr := h.proxied(ctx, name); perr != nil {
			return nil, perr
		} else if ok {
			return h.upstreamManifest(ctx, req, name, ref)
		}
	}
	if err != nil {
		return nil, err
	}
	return h.serveManifest(ctx, req, name, d, link)
}

// serveManifest answers GET or HEAD of manifest d of repository name,
// described by link, from blobs/.
func (h *Handler) serveManifest(ctx context.Context, req *core.RequestContext, name string, d Digest, link manifestLink) (*core.Response, error) {
	if req.Method == http.MethodHead {
		return manifestResponse(req, d, link, nil), nil
	}
	rc, _, err := h.deps.Storage.Get(ctx, blobKey(d), nil)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s@%s", ErrManifestUnknown, name, d)
		}
		return nil, err
	}
	return manifestResponse(req, d, link, rc), nil
}

// manifestResponse answers GET of manifest d with body, or HEAD with its
// headers only.
func manifestResponse(req *core.RequestContext, d Digest, link manifestLink, body io.ReadCloser) *core.Response {
	var resp *core.Response
	if req.Method == http.MethodHead {
		resp = core.NewResponse(http.StatusOK)
		resp.Header.Set("Content-Type", link.MediaType)
		resp.Header.Set("Content-Length", strconv.FormatInt(link.Size, 10))
	} else {
		resp = core.StreamResponse(http.StatusOK, link.MediaType, body, link.Size)
	}
	resp.Header.Set("Docker-Content-Digest", d.String())
	resp.Header.Set("Etag", `"`+d.String()+`"`)
	return resp
}

// putManifest serves PUT of a manifest by tag or digest. The digest is
// computed over the exact bytes received; every blob and child manifest it
// references must be in the repository already (the subject need not be).
func (h *Handler) putManifest(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	if _, err := h.authorize(ctx, req, name, core.ActionWrite); err != nil {
		return nil, err
	}
	ref, err := parseReference(p["reference"])
	if err != nil {
		return nil, err
	}
	tags, err := tagParams(req, ref)
	if err != nil {
		return nil, err
	}
	body, err := h.readManifest(req)
	if err != nil {
		return nil, err
	}
	d := digestOf(body, "sha256")
	if ref.tag == "" {
		if d = digestOf(body, ref.digest.Algorithm); d != ref.digest {
			return nil, fmt.Errorf("%w: the manifest's digest is %s", ErrDigestInvalid, d)
		}
	}
	m, mediaType, err := ParseManifest(body, req.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if err := h.checkReferences(ctx, name, m); err != nil {
		return nil, err
	}
	if err := h.catalogAdd(ctx, name); err != nil {
		return nil, err
	}
	st := h.deps.Storage
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: name, Version: d.String()})
	if _, err := st.Stat(ctx, blobKey(d)); errors.Is(err, core.ErrNotFound) {
		if _, err := st.Put(core.WithKind(ctx, core.KindArtifact), blobKey(d), bytes.NewReader(body), int64(len(body)), core.PutOptions{ContentType: mediaType}); err != nil {
			return nil, fmt.Errorf("store manifest: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	if _, err := core.PutJSON(ctx, st, manifestLinkKey(name, d), manifestLink{MediaType: mediaType, Size: int64(len(body))}, core.PutOptions{}); err != nil {
		return nil, fmt.Errorf("link manifest: %w", err)
	}
	resp := core.NewResponse(http.StatusCreated)
	if m.Subject != nil {
		subject, _ := ParseDigest(m.Subject.Digest) // checked by ParseManifest
		desc := Descriptor{
			MediaType: mediaType, Digest: d.String(), Size: int64(len(body)),
			ArtifactType: m.EffectiveArtifactType(), Annotations: m.Annotations,
		}
		if _, err := core.PutJSON(ctx, st, referrerKey(name, subject, d), desc, core.PutOptions{}); err != nil {
			return nil, fmt.Errorf("record referrer: %w", err)
		}
		if !h.cfg.DisableReferrers {
			resp.Header.Set("OCI-Subject", subject.String())
		}
	}
	for _, tag := range tags {
		if _, err := core.PutJSON(ctx, st, tagKey(name, tag), tagLink{Digest: d.String()}, core.PutOptions{}); err != nil {
			return nil, fmt.Errorf("tag manifest: %w", err)
		}
		if ref.tag == "" {
			resp.Header.Add("OCI-Tag", tag)
		}
	}
	resp.Header.Set("Location", req.BaseURL+"/v2/"+name+"/manifests/"+d.String())
	resp.Header.Set("Docker-Content-Digest", d.String())
	resp.Header.Set("Content-Length", "0")
	return resp, nil
}

// tagParams returns the tags a manifest push applies: the reference when
// it is a tag, or the ?tag= parameters of a push by digest (answered with
// one OCI-Tag header each).
func tagParams(req *core.RequestContext, ref reference) ([]string, error) {
	if ref.tag != "" {
		return []string{ref.tag}, nil
	}
	tags := req.Query["tag"]
	for _, t := range tags {
		if !ValidTag(t) {
			return nil, fmt.Errorf("%w: tag %q", ErrReferenceInvalid, t)
		}
	}
	return tags, nil
}

// readManifest reads a manifest body, refusing one over MaxManifestSize.
func (h *Handler) readManifest(req *core.RequestContext) ([]byte, error) {
	limit := h.cfg.MaxManifestSize
	if req.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes is over the limit of %d", ErrManifestTooLarge, req.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read manifest: %v", ErrManifestInvalid, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over the limit of %d bytes", ErrManifestTooLarge, limit)
	}
	return body, nil
}

// digestOf computes the digest of b with alg (sha256 or sha512).
func digestOf(b []byte, alg string) Digest {
	if alg == "sha512" {
		sum := sha512.Sum512(b)
		return Digest{Algorithm: alg, Hex: hex.EncodeToString(sum[:])}
	}
	sum := sha256.Sum256(b)
	return Digest{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// checkReferences verifies that the config and layers of an image manifest
// are blobs of the repository and the children of an index are manifests
// of the repository. Non-distributable layers are exempt.
func (h *Handler) checkReferences(ctx context.Context, name string, m *Manifest) error {
	var blobs []Descriptor
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	blobs = append(blobs, m.Layers...)
	for _, b := range blobs {
		if nonDistributable(b) {
			continue
		}
		d, _ := ParseDigest(b.Digest) // checked by ParseManifest
		if _, err := h.deps.Storage.Stat(ctx, layerLinkKey(name, d)); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("%w: %s", ErrManifestBlobUnknown, d)
			}
			return err
		}
	}
	for _, c := range m.Manifests {
		d, _ := ParseDigest(c.Digest)
		if _, err := h.deps.Storage.Stat(ctx, manifestLinkKey(name, d)); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("%w: %s", errChildManifestUnknown, d)
			}
			return err
		}
	}
	return nil
}

// deleteManifest serves DELETE of a tag (the tag goes, the manifest stays)
// or of a manifest by digest (its tags and referrer record go with it).
func (h *Handler) deleteManifest(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	if err := h.authorizeDelete(ctx, req, name); err != nil {
		return nil, err
	}
	ref, err := parseReference(p["reference"])
	if err != nil {
		return nil, err
	}
	st := h.deps.Storage
	if ref.tag != "" {
		if _, err := h.resolve(ctx, name, ref); err != nil {
			return nil, err
		}
		if err := st.Delete(ctx, tagKey(name, ref.tag)); err != nil {
			return nil, err
		}
		return core.NewResponse(http.StatusAccepted), nil
	}
	d := ref.digest
	if _, err := h.manifestInfo(ctx, name, d); err != nil {
		return nil, err
	}
	if err := h.dropReferrer(ctx, name, d); err != nil {
		return nil, err
	}
	if err := st.Delete(ctx, manifestLinkKey(name, d)); err != nil {
		return nil, err
	}
	if err := h.untagDigest(ctx, name, d); err != nil {
		return nil, err
	}
	return core.NewResponse(http.StatusAccepted), nil
}

// dropReferrer removes the referrer record of manifest d, if it has a
// subject.
func (h *Handler) dropReferrer(ctx context.Context, name string, d Digest) error {
	rc, _, err := h.deps.Storage.Get(ctx, blobKey(d), nil)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil
		}
		return err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, h.cfg.MaxManifestSize+1))
	if err != nil {
		return fmt.Errorf("read manifest %s: %w", d, err)
	}
	m, _, err := ParseManifest(body, "")
	if err != nil || m.Subject == nil {
		return nil
	}
	subject, _ := ParseDigest(m.Subject.Digest)
	return h.deps.Storage.Delete(ctx, referrerKey(name, subject, d))
}

// untagDigest deletes every tag of repository name that points at d.
func (h *Handler) untagDigest(ctx context.Context, name string, d Digest) error {
	var stale []string
	err := h.deps.Storage.Walk(ctx, tagsPrefix(name), func(o core.ObjectInfo) error {
		var t tagLink
		if _, err := core.GetJSON(ctx, h.deps.Storage, o.Key, &t); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				return nil
			}
			return err
		}
		if t.Digest == d.String() {
			stale = append(stale, o.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list tags of %s: %w", name, err)
	}
	for _, k := range stale {
		if err := h.deps.Storage.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
