package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/archive"
	"github.com/smartregistry/smartregistry/internal/route"
)

// staleTarball is how old a tarball with no version in the document must be
// before a publish may replace it: younger ones belong to a publish of the
// same version still in flight.
const staleTarball = 10 * time.Minute

// putPackage serves PUT /<pkg> and PUT /<pkg>/-rev/<rev>: a publish when
// the body carries attachments, otherwise a metadata update (deprecate,
// unpublish of single versions, dist-tags).
func (h *Handler) putPackage(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["pkg"]
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name})
	principal, err := h.authorize(ctx, req, name, core.ActionWrite)
	if err != nil {
		return nil, err
	}
	h.sweeper.Maybe()
	pr, err := parsePublish(req.Body, h.cfg.MaxMetadataSize, h.cfg.MaxTarballSize, func(r io.Reader) (string, error) {
		key := uploadKey(time.Now())
		_, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindTemporary), key, r, -1, core.PutOptions{ContentType: "application/octet-stream"})
		return key, err
	})
	defer h.removeUploads(ctx, pr)
	if err != nil {
		return nil, err
	}
	if pr.Name == "" {
		pr.Name = pr.ID
	}
	if pr.Name != name {
		return nil, errorf(core.ErrInvalidArgument, "the document's name %q does not match the URL's %q", pr.Name, name)
	}
	if len(pr.Attachments) == 0 {
		return h.updateMetadata(ctx, req, principal, name, pr, p["rev"])
	}
	return h.publish(ctx, req, principal, name, pr)
}

// removeUploads deletes the temporary keys of a request's attachments.
func (h *Handler) removeUploads(ctx context.Context, pr *publishRequest) {
	if pr == nil {
		return
	}
	for _, a := range pr.Attachments {
		if a.Key == "" {
			continue
		}
		if err := h.deps.Storage.Delete(core.WithKind(context.WithoutCancel(ctx), core.KindTemporary), a.Key); err != nil {
			h.log.WarnContext(ctx, "npm: remove upload", "key", a.Key, "error", err)
		}
	}
}

// publish adds one version through the commit protocol (see
// core.Publish): the tarball, checked against dist and its package.json,
// moves from its upload key to a key of its own, and one conditional
// update of the document lists it. A retry of the same tarball after a
// failure at any step succeeds; a tarball the document does not list is
// never served.
func (h *Handler) publish(ctx context.Context, req *core.RequestContext, principal *core.Principal, name string, pr *publishRequest) (*core.Response, error) {
	if len(pr.Versions) != 1 || len(pr.Attachments) != 1 {
		return nil, errorf(core.ErrInvalidArgument, "a publish carries exactly one version and one attachment")
	}
	var version string
	var raw json.RawMessage
	for v, r := range pr.Versions { // the only one
		version, raw = v, r
	}
	att := pr.Attachments[0]
	ctx = core.WithObject(ctx, core.ObjectRef{Version: version})
	if err := checkPublish(name, version, raw, att); err != nil {
		return nil, err
	}
	if err := h.checkTarball(ctx, att.Key, name, version); err != nil {
		return nil, err
	}
	manifest, err := finalManifest(raw, name, version, att, principal)
	if err != nil {
		return nil, err
	}
	id := core.StageID(att.Key)
	now := time.Now().UTC()
	var doc *storedPackument
	commit := func(ctx context.Context) error {
		d, info, err := core.UpdateEntryDoc(ctx, h.deps.Storage, packumentKey(name), func(ed *core.EntryDoc[packageHead], _ bool) error {
			d := &storedPackument{EntryDoc: ed}
			d.init(name, now)
			if e, ok := d.version(version); ok && e.Integrity == att.SHA512 {
				return core.ErrAlreadyListed
			}
			if err := d.refuseVersion(version); err != nil {
				return err
			}
			d.bump(now)
			e, err := newEntry(name, version, manifest, d.Head.Seq, now, id, att.SHA512)
			if err != nil {
				return err
			}
			if err := d.setVersion(version, e); err != nil {
				return err
			}
			tags := pr.DistTags
			if len(tags) == 0 {
				tags = map[string]string{"latest": version}
			}
			for tag, v := range tags {
				if v == version && validTag(tag) {
					d.Head.DistTags[tag] = version
				}
			}
			d.fixLatest()
			if principal != nil && principal.UserID != "" && len(d.Head.Maintainers) == 0 {
				d.Head.Maintainers = []string{principal.UserID}
			}
			return nil
		})
		if err != nil {
			return err
		}
		doc = &storedPackument{EntryDoc: d, size: info.Size}
		h.cached(name, info.ETag, doc, req.BaseURL)
		return nil
	}
	listed := func(ctx context.Context) (bool, error) {
		d, _, err := core.GetEntryDoc[packageHead](ctx, h.deps.Storage, packumentKey(name))
		if err != nil {
			return false, err
		}
		e, ok := (&storedPackument{EntryDoc: d}).version(version)
		return ok && e.Tarball == id, nil
	}
	err = core.Publish(ctx, h.deps.Storage, core.Publication{
		Staged: att.Key, Final: tarballKey(name, id), ContentType: "application/octet-stream",
		Commit: commit, Listed: listed,
	})
	pr.Attachments[0].Key = "" // Publish has moved or removed it
	if err != nil {
		return nil, err
	}
	if doc == nil { // a retry of a publish that had succeeded
		if doc, _, err = h.loadPackument(ctx, name); err != nil {
			return nil, err
		}
	}
	// Also on a retry: a crash may have come before the index update.
	h.indexPackage(ctx, doc)
	return core.JSONResponse(http.StatusCreated, map[string]any{"ok": true, "id": name, "rev": doc.rev()}), nil
}

// cached puts a document just written into the cache, with its abbreviated
// form (what installs read) rendered for base (the URL its publisher used,
// which its readers most likely use too), so that the first install after
// a change costs no decoding or rendering; the full form is one
// concatenation away.
func (h *Handler) cached(name, etag string, d *storedPackument, base string) {
	d.init(name, d.Head.Created)
	h.cache.putDoc(name, etag, d)
	if d.Len() == 0 {
		return
	}
	if b, err := renderPackument(d, base, true); err == nil {
		h.cache.put(cacheKey{name: name, base: base, abbreviated: true}, etag, b, nil)
	}
}

// checkPublish checks the version's manifest against the URL and the
// received tarball: name, version, dist.shasum and dist.integrity.
func checkPublish(name, version string, raw json.RawMessage, att attachment) error {
	var m manifestInfo
	if err := json.Unmarshal(raw, &m); err != nil {
		return errorf(core.ErrInvalidArgument, "invalid manifest of version %s: %v", version, err)
	}
	if m.Name != name || m.Version != version {
		return errorf(core.ErrInvalidArgument, "the manifest names %s@%s, not %s@%s", m.Name, m.Version, name, version)
	}
	if !validVersion(version) {
		return errorf(core.ErrInvalidArgument, "invalid version %q: not semver", version)
	}
	if att.File != tarballFile(name, version) && att.File != name+"-"+version+".tgz" {
		return errorf(core.ErrInvalidArgument, "attachment %q is not the tarball of %s@%s", att.File, name, version)
	}
	if att.DeclaredLength >= 0 && att.DeclaredLength != att.Size {
		return errorf(core.ErrInvalidArgument, "attachment length %d does not match the %d bytes received", att.DeclaredLength, att.Size)
	}
	checked := false
	if m.Dist.Shasum != "" {
		if !strings.EqualFold(m.Dist.Shasum, att.SHA1) {
			return errorf(core.ErrInvalidArgument, "shasum mismatch: dist.shasum is %s, the tarball's is %s", m.Dist.Shasum, att.SHA1)
		}
		checked = true
	}
	for sri := range strings.FieldsSeq(m.Dist.Integrity) {
		alg, sum, _ := strings.Cut(sri, "-")
		if alg != "sha512" {
			continue
		}
		sum, _, _ = strings.Cut(sum, "?")
		if sum != att.SHA512 {
			return errorf(core.ErrInvalidArgument, "integrity mismatch: dist.integrity is %s, the tarball's is sha512-%s", sri, att.SHA512)
		}
		checked = true
	}
	if !checked {
		return errorf(core.ErrInvalidArgument, "dist.shasum or a sha512 dist.integrity is required")
	}
	return nil
}

// checkTarball reads package.json from the stored tarball and checks its
// name and version.
func (h *Handler) checkTarball(ctx context.Context, key, name, version string) error {
	rc, _, err := h.deps.Storage.Get(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("npm: read back the tarball of %s@%s: %w", name, version, err)
	}
	defer rc.Close()
	stored := &errRecorder{r: rc} // a failing read of storage is not a bad tarball
	_, b, err := archive.FromTarGz(stored, func(n string) bool {
		dir, file, ok := strings.Cut(n, "/")
		return ok && dir != "" && file == "package.json"
	}, archive.Limits{MaxMemberSize: 4 << 20})
	if err != nil {
		if stored.err != nil {
			return fmt.Errorf("npm: read back the tarball of %s@%s: %w", name, version, stored.err)
		}
		if errors.Is(err, archive.ErrInvalid) {
			return errorf(core.ErrInvalidArgument, "invalid tarball: %v", err)
		}
		return err
	}
	var pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return errorf(core.ErrInvalidArgument, "invalid package.json in the tarball: %v", err)
	}
	if pkg.Name != name || pkg.Version != version {
		return errorf(core.ErrInvalidArgument, "the tarball's package.json names %s@%s, not %s@%s", pkg.Name, pkg.Version, name, version)
	}
	return nil
}

// finalManifest is the manifest stored for a new version: as published,
// with the registry's own _id, dist sums, publisher and install-script flag.
func finalManifest(raw json.RawMessage, name, version string, att attachment, principal *core.Principal) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errorf(core.ErrInvalidArgument, "invalid manifest: %v", err)
	}
	var dist map[string]json.RawMessage
	if json.Unmarshal(m["dist"], &dist) != nil || dist == nil {
		dist = map[string]json.RawMessage{}
	}
	delete(dist, "tarball")
	dist["shasum"], _ = json.Marshal(att.SHA1)
	dist["integrity"], _ = json.Marshal("sha512-" + att.SHA512)
	m["dist"], _ = json.Marshal(dist)
	m["_id"], _ = json.Marshal(name + "@" + version)
	if principal != nil && principal.UserID != "" {
		// npm view prints "<email>" after the name; an empty one is left out.
		m["_npmUser"], _ = json.Marshal(map[string]string{"name": principal.UserID, "email": ""})
	}
	var info manifestInfo
	_ = json.Unmarshal(raw, &info)
	for _, s := range []string{"preinstall", "install", "postinstall"} {
		if _, ok := info.Scripts[s]; ok {
			m["hasInstallScript"] = json.RawMessage("true")
		}
	}
	delete(m, "_attachments")
	return json.Marshal(m)
}
