package npm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// updateMetadata applies a PUT of the whole document without attachments,
// as "npm deprecate" and "npm unpublish <pkg>@<version>" send it:
//   - a version's "deprecated" is set, changed or (absent or "") removed;
//   - a version missing from the body's "versions" is unpublished, but only
//     when the client said which revision it read (URL or _rev) and the
//     version was already in that revision: a version published since is
//     never lost; a body without "versions" unpublishes nothing;
//   - "maintainers", when present, become the package's owners (npm owner);
//   - dist-tags in the body that point at existing versions are set, when
//     the body is based on the current revision.
//
// Removing versions needs the delete permission.
func (h *Handler) updateMetadata(ctx context.Context, req *core.RequestContext, principal *core.Principal,
	name string, pr *publishRequest, urlRev string) (*core.Response, error) {
	rev := urlRev
	if rev == "" {
		rev = pr.Rev
	}
	seen := revSeq(rev)
	canDelete := h.deps.Auth.Authorize(ctx, principal, core.NewScope(core.ProtocolNPM, "package", name, core.ActionDelete))
	var removed map[string]string // version → tarball id
	doc, err := h.updatePackage(ctx, name, req.BaseURL, func(d *storedPackument, now time.Time) error {
		removed = map[string]string{}
		changed := false
		updates := map[string]versionEntry{}
		for v, data := range d.All() {
			bodyRaw, inBody := pr.Versions[v]
			e, err := decodeEntry(data)
			if err != nil {
				return err
			}
			if !inBody {
				// A body without "versions" (npm owner add/rm) removes none.
				if pr.Versions != nil && seen >= 0 && e.Added <= seen {
					removed[v] = e.Tarball
				}
				continue
			}
			updated, ok, err := withDeprecation(withBase(e.Full, ""), bodyRaw)
			if err != nil {
				return errorf(core.ErrInvalidArgument, "version %s: %v", v, err)
			}
			if ok {
				at, _ := time.Parse(time.RFC3339Nano, e.Time)
				ne, err := newEntry(name, v, updated, e.Added, at, e.Tarball, e.Integrity)
				if err != nil {
					return err
				}
				updates[v] = ne
			}
		}
		for v, ne := range updates {
			if err := d.setVersion(v, ne); err != nil {
				return err
			}
			changed = true
		}
		if owners, ok := ownersOf(pr.Maintainers); ok && !slices.Equal(owners, d.Head.Maintainers) {
			if len(owners) == 0 {
				return errorf(core.ErrInvalidArgument, "a package keeps at least one owner")
			}
			d.Head.Maintainers = owners
			changed = true
		}
		for v := range pr.Versions {
			_, gone := d.Head.Unpublished[v]
			if !d.hasVersion(v) && !gone {
				return errorf(core.ErrInvalidArgument, "version %s of %s cannot be published without its tarball", v, name)
			}
		}
		if len(removed) > 0 && canDelete != nil {
			return authError(canDelete, name, core.ActionDelete)
		}
		for v := range removed {
			d.removeVersion(v, now)
			changed = true
		}
		for tag, v := range pr.DistTags {
			if seen != d.Head.Seq {
				break // tags read from an older revision would undo newer changes
			}
			if d.hasVersion(v) && validTag(tag) && d.Head.DistTags[tag] != v {
				d.Head.DistTags[tag] = v
				changed = true
			}
		}
		if !changed {
			return core.ErrNoChange
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h.unpublished(ctx, doc, removed, http.StatusCreated), nil
}

// maxOwners bounds a package's owners.
const maxOwners = 100

// ownersOf returns the owner names of a body's maintainers; false when the
// body has none (it changes no owners), or when they are not valid.
func ownersOf(ms *[]maintainer) ([]string, bool) {
	if ms == nil || len(*ms) > maxOwners {
		return nil, false
	}
	var names []string
	for _, m := range *ms {
		if m.Name == "" || len(m.Name) > 214 || slices.Contains(names, m.Name) {
			return nil, false
		}
		names = append(names, m.Name)
	}
	return names, true
}

// withDeprecation returns stored with the "deprecated" field of body, and
// whether that changed anything.
func withDeprecation(stored, body json.RawMessage) (json.RawMessage, bool, error) {
	var in struct {
		Deprecated *string `json:"deprecated"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, false, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(stored, &m); err != nil {
		return nil, false, err
	}
	var cur string
	_, had := m["deprecated"]
	if had {
		_ = json.Unmarshal(m["deprecated"], &cur)
	}
	switch {
	case in.Deprecated != nil && *in.Deprecated != "":
		if had && cur == *in.Deprecated {
			return stored, false, nil
		}
		m["deprecated"], _ = json.Marshal(*in.Deprecated)
	case had:
		delete(m, "deprecated")
	default:
		return stored, false, nil
	}
	b, err := json.Marshal(m)
	return b, err == nil, err
}

// unpublishPackage serves DELETE /<pkg>/-rev/<rev>: every version the
// client saw at that revision is unpublished (all of them when rev is not
// one of ours) and can never be published again.
func (h *Handler) unpublishPackage(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["pkg"]
	if _, err := h.authorize(ctx, req, name, core.ActionDelete); err != nil {
		return nil, err
	}
	seen := revSeq(p["rev"])
	var removed map[string]string // version → tarball id
	doc, err := h.updatePackage(ctx, name, req.BaseURL, func(d *storedPackument, now time.Time) error {
		removed = map[string]string{}
		for v, data := range d.All() {
			if e, err := decodeEntry(data); err == nil && (seen < 0 || e.Added <= seen) {
				removed[v] = e.Tarball
			}
		}
		for v := range removed {
			d.removeVersion(v, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h.unpublished(ctx, doc, removed, http.StatusOK), nil
}

// deleteTarball serves DELETE /<pkg>/-/<file>/-rev/<rev>, the last step of
// "npm unpublish <pkg>@<version>". The tarball of a version still published
// is kept (409); an unpublished version's tarball went with it.
func (h *Handler) deleteTarball(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, file := p["pkg"], p["file"]
	version, err := fileVersion(name, file)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, name, core.ActionDelete); err != nil {
		return nil, err
	}
	doc, _, err := h.loadPackument(ctx, name)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return nil, err
	}
	if doc != nil && doc.hasVersion(version) {
		return nil, errorf(core.ErrConflict, "%s@%s is still published; unpublish it first", name, version)
	}
	return jsonOK(map[string]any{"ok": true}), nil
}

// unpublished finishes a change that removed versions: their tarballs
// (by id) are deleted and the search index updated. Failures are logged:
// the versions are gone from the document already, and an unlisted tarball
// is never served. It returns the client's answer.
func (h *Handler) unpublished(ctx context.Context, doc *storedPackument, tarballs map[string]string, status int) *core.Response {
	name := doc.Head.Name
	for v, id := range tarballs {
		del := core.WithObject(context.WithoutCancel(ctx), core.ObjectRef{Kind: core.KindArtifact, Package: name, Version: v})
		if err := h.deps.Storage.Delete(del, tarballKey(name, id)); err != nil {
			h.log.WarnContext(ctx, "npm: delete tarball of unpublished version", "package", name, "error", err)
		}
	}
	h.indexPackage(ctx, doc)
	return core.JSONResponse(status, map[string]any{"ok": true, "id": name, "rev": doc.rev()})
}
