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
	principal, err := h.authorize(ctx, req, name, core.ActionWrite)
	if err != nil {
		return nil, err
	}
	pr, err := parsePublish(req.Body, h.cfg.MaxMetadataSize, h.cfg.MaxTarballSize, func(r io.Reader) (string, error) {
		key := uploadKey()
		_, err := h.deps.Storage.Put(ctx, key, r, -1, core.PutOptions{ContentType: "application/octet-stream"})
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
	return h.publish(ctx, principal, name, pr)
}

// removeUploads deletes the temporary keys of a request's attachments.
func (h *Handler) removeUploads(ctx context.Context, pr *publishRequest) {
	if pr == nil {
		return
	}
	for _, a := range pr.Attachments {
		if err := h.deps.Storage.Delete(context.WithoutCancel(ctx), a.Key); err != nil {
			h.log.WarnContext(ctx, "npm: remove upload", "key", a.Key, "error", err)
		}
	}
}

// publish adds one version: checks the tarball against dist and its
// package.json, moves it to its final key, then adds the version to the
// document in a conditional read-modify-write.
func (h *Handler) publish(ctx context.Context, principal *core.Principal, name string, pr *publishRequest) (*core.Response, error) {
	if len(pr.Versions) != 1 || len(pr.Attachments) != 1 {
		return nil, errorf(core.ErrInvalidArgument, "a publish carries exactly one version and one attachment")
	}
	var version string
	var raw json.RawMessage
	for v, r := range pr.Versions { // the only one
		version, raw = v, r
	}
	att := pr.Attachments[0]
	if err := checkPublish(name, version, raw, att); err != nil {
		return nil, err
	}
	if err := h.checkTarball(ctx, att.Key, name, version); err != nil {
		return nil, err
	}
	if err := h.refuseExisting(ctx, name, version); err != nil {
		return nil, err
	}
	manifest, err := finalManifest(raw, name, version, att, principal)
	if err != nil {
		return nil, err
	}
	if err := h.placeTarball(ctx, att.Key, name, version); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	doc, err := core.UpdateJSON(ctx, h.deps.Storage, packumentKey(name), func(d *storedPackument, _ bool) error {
		d.init(name, now)
		if err := refuseVersion(d, name, version); err != nil {
			return err
		}
		d.bump(now)
		d.Versions[version] = manifest
		d.Added[version] = d.Seq
		d.Times[version] = now
		tags := pr.DistTags
		if len(tags) == 0 {
			tags = map[string]string{"latest": version}
		}
		for tag, v := range tags {
			if v == version && validTag(tag) {
				d.DistTags[tag] = version
			}
		}
		d.fixLatest()
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.indexPackage(ctx, doc)
	return core.JSONResponse(http.StatusCreated, map[string]any{"ok": true, "id": name, "rev": doc.rev()}), nil
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
		return fmt.Errorf("npm: read upload %s: %w", key, err)
	}
	defer rc.Close()
	stored := &errRecorder{r: rc} // a failing read of storage is not a bad tarball
	_, b, err := archive.FromTarGz(stored, func(n string) bool {
		dir, file, ok := strings.Cut(n, "/")
		return ok && dir != "" && file == "package.json"
	}, archive.Limits{MaxMemberSize: 4 << 20})
	if err != nil {
		if stored.err != nil {
			return fmt.Errorf("npm: read upload %s: %w", key, stored.err)
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

// refuseExisting refuses early a version that is or was published.
func (h *Handler) refuseExisting(ctx context.Context, name, version string) error {
	doc := &storedPackument{}
	if _, err := core.GetJSON(ctx, h.deps.Storage, packumentKey(name), doc); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil
		}
		return err
	}
	doc.init(name, time.Time{})
	return refuseVersion(doc, name, version)
}

// refuseVersion refuses a version that is or was published.
func refuseVersion(d *storedPackument, name, version string) error {
	if _, ok := d.Versions[version]; ok {
		return publishOverError(version)
	}
	if _, ok := d.Unpublished[version]; ok {
		return publishUnpublishedError(name, version)
	}
	return nil
}

// placeTarball copies the upload to the version's tarball key, only if no
// tarball is there: a tarball of a published version is never replaced. A
// tarball without a version is the leftover of a failed publish, replaced
// once it is stale, or a publish of the same version in flight (conflict).
func (h *Handler) placeTarball(ctx context.Context, upload, name, version string) error {
	final := tarballKey(name, tarballFile(name, version))
	err := h.copyObject(ctx, upload, final, core.PutOptions{IfAbsent: true})
	if !errors.Is(err, core.ErrPreconditionFailed) {
		return err
	}
	if err := h.refuseExisting(ctx, name, version); err != nil {
		return err
	}
	st, err := h.deps.Storage.Stat(ctx, final)
	if err != nil {
		return err
	}
	if time.Since(st.ModTime) < staleTarball {
		return errorf(core.ErrConflict, "another publish of %s@%s is in progress", name, version)
	}
	err = h.copyObject(ctx, upload, final, core.PutOptions{IfMatch: st.ETag})
	if errors.Is(err, core.ErrPreconditionFailed) {
		return errorf(core.ErrConflict, "another publish of %s@%s is in progress", name, version)
	}
	return err
}

// copyObject streams src to dst with the given conditions.
func (h *Handler) copyObject(ctx context.Context, src, dst string, opts core.PutOptions) error {
	rc, info, err := h.deps.Storage.Get(ctx, src, nil)
	if err != nil {
		return fmt.Errorf("npm: read %s: %w", src, err)
	}
	defer rc.Close()
	opts.ContentType = "application/octet-stream"
	_, err = h.deps.Storage.Put(ctx, dst, rc, info.Size, opts)
	return err
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
