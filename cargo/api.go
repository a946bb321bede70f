package cargo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// download serves GET /api/v1/crates/<name>/<version>/download (config.json's
// dl), streaming the .crate the crate document lists, with Content-Length.
// Yanked versions stay downloadable, as on crates.io.
func (h *Handler) download(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	principal, err := h.reader(ctx, req)
	if err != nil {
		return nil, err
	}
	vers, err := versionParam(p)
	if err != nil {
		return nil, err
	}
	e, err := h.crateFor(ctx, principal, p, core.ActionRead)
	if h.proxied(err) {
		return h.upstreamDownload(ctx, principal, p["name"], p["version"])
	}
	if err != nil {
		return nil, err
	}
	hd := &e.doc.Head
	rec, ok := record(e.doc, vers)
	if !ok && h.merging() && upstreamAddition(e.doc, p["version"]) {
		return h.upstreamDownload(ctx, principal, hd.Name, p["version"])
	}
	if !ok || rec.Vers != p["version"] {
		return nil, fmt.Errorf("%w: %s %s", core.ErrNotFound, hd.Name, p["version"])
	}
	crate := NormalizeName(hd.Name)
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindArtifact, Package: crate, Version: rec.Vers})
	rc, info, err := h.deps.Storage.Get(ctx, fileKey(crate, rec.Object), nil)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", hd.Name, rec.Vers, err)
	}
	resp := core.StreamResponse(http.StatusOK, "application/gzip", rc, info.Size)
	resp.Header.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.crate"`, hd.Name, rec.Vers))
	resp.Header.Set("Cache-Control", "public, max-age=31536000, immutable")
	if h.authRequired() {
		resp.Header.Set("Cache-Control", "private, max-age=31536000, immutable")
	}
	return resp, nil
}

// yank serves DELETE /api/v1/crates/<name>/<version>/yank.
func (h *Handler) yank(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return h.setYanked(ctx, req, p, true)
}

// unyank serves PUT /api/v1/crates/<name>/<version>/unyank.
func (h *Handler) unyank(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return h.setYanked(ctx, req, p, false)
}

// crateFor finds the crate the {name} wildcard names, by any spelling,
// and checks that principal may act on it with a.
func (h *Handler) crateFor(ctx context.Context, principal *core.Principal, p route.Params, a core.Action) (*cachedCrate, error) {
	name, err := nameParam(p)
	if err != nil {
		return nil, err
	}
	e, err := h.loadCrate(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.Authorize(ctx, principal, crateScope(e.doc.Head.Name, a)); err != nil {
		return nil, err
	}
	return e, nil
}

// ownedCrate identifies a writer, finds the crate, and checks that the
// writer may act on it with action and owns it.
func (h *Handler) ownedCrate(ctx context.Context, req *core.RequestContext, p route.Params, a core.Action) (*core.Principal, *cachedCrate, error) {
	principal, err := h.writer(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	e, err := h.crateFor(ctx, principal, p, a)
	if err != nil {
		return nil, nil, err
	}
	if !e.doc.Head.isOwner(principal.UserID) {
		return nil, nil, fmt.Errorf("%w: %s does not own %s", ErrNotOwner, principal.UserID, e.doc.Head.Name)
	}
	return principal, e, nil
}

// setYanked rewrites one version's index line with yanked set or cleared.
func (h *Handler) setYanked(ctx context.Context, req *core.RequestContext, p route.Params, yanked bool) (*core.Response, error) {
	principal, e, err := h.ownedCrate(ctx, req, p, core.ActionWrite)
	if err != nil {
		return nil, err
	}
	vers := p["version"]
	written, err := h.updateCrate(ctx, e.doc.Head.Name, func(d *crateDoc) error {
		if !d.Head.isOwner(principal.UserID) {
			return fmt.Errorf("%w: %s does not own %s", ErrNotOwner, principal.UserID, d.Head.Name)
		}
		line, ok := indexLine(d, vers)
		if !ok {
			return fmt.Errorf("%w: %s %s", core.ErrNotFound, d.Head.Name, vers)
		}
		if line.Yanked == yanked {
			return core.ErrNoChange
		}
		line.Yanked = yanked
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		d.Head.Seq++
		return d.Set(vers, b)
	})
	if err != nil {
		return nil, err
	}
	h.reindexSearch(ctx, written)
	return core.JSONResponse(http.StatusOK, map[string]bool{"ok": true}), nil
}

// deleteVersion serves DELETE /api/v1/crates/<name>/<version> (not part of
// cargo's API; for administrators, with cargo:crate:<name>:delete): the
// version leaves the index, its .crate is removed, and a tombstone keeps
// the version from being published again.
func (h *Handler) deleteVersion(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	principal, err := h.writer(ctx, req)
	if err != nil {
		return nil, err
	}
	vers, err := versionParam(p)
	if err != nil {
		return nil, err
	}
	e, err := h.crateFor(ctx, principal, p, core.ActionDelete)
	if err != nil {
		return nil, err
	}
	var removed *versionRecord
	written, err := h.updateCrate(ctx, e.doc.Head.Name, func(d *crateDoc) error {
		rec, ok := record(d, vers)
		if !ok || rec.Vers != p["version"] {
			return fmt.Errorf("%w: %s %s", core.ErrNotFound, d.Head.Name, p["version"])
		}
		removed = rec
		d.Delete(rec.Vers)
		d.Delete(recordPrefix + vers.withoutBuild())
		if d.Head.Deleted == nil {
			d.Head.Deleted = map[string]time.Time{}
		}
		d.Head.Deleted[vers.withoutBuild()] = h.now().UTC()
		d.Head.Seq++
		return nil
	})
	if err != nil {
		return nil, err
	}
	crate := NormalizeName(written.Head.Name)
	h.deleteQuietly(core.WithObject(ctx, core.ObjectRef{Kind: core.KindArtifact, Package: crate, Version: removed.Vers}),
		fileKey(crate, removed.Object))
	h.reindexSearch(ctx, written)
	return core.JSONResponse(http.StatusOK, map[string]bool{"ok": true}), nil
}

// updateCrate applies a pure change to a crate's document and caches what
// it wrote.
func (h *Handler) updateCrate(ctx context.Context, name string, change func(d *crateDoc) error) (*crateDoc, error) {
	crate := NormalizeName(name)
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: crate})
	d, info, err := core.UpdateEntryDoc(ctx, h.deps.Storage, crateKey(crate), func(d *crateDoc, exists bool) error {
		if !exists {
			return fmt.Errorf("%w: crate %s", core.ErrNotFound, name)
		}
		return change(d)
	})
	if err != nil {
		return nil, err
	}
	h.cache.put(crate, newCached(d, info))
	return d, nil
}

// ownerUser is a user as cargo owner --list shows it.
type ownerUser struct {
	ID    int     `json:"id"`
	Login string  `json:"login"`
	Name  *string `json:"name"`
}

// listOwners serves GET /api/v1/crates/<name>/owners.
func (h *Handler) listOwners(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	principal, err := h.reader(ctx, req)
	if err != nil {
		return nil, err
	}
	e, err := h.crateFor(ctx, principal, p, core.ActionRead)
	if err != nil {
		return nil, err
	}
	users := make([]ownerUser, 0, len(e.doc.Head.Owners))
	for i, o := range e.doc.Head.Owners {
		users = append(users, ownerUser{ID: i + 1, Login: o})
	}
	return core.JSONResponse(http.StatusOK, map[string]any{"users": users}), nil
}

// addOwners serves PUT /api/v1/crates/<name>/owners with {"users":[…]}.
func (h *Handler) addOwners(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return h.changeOwners(ctx, req, p, true)
}

// removeOwners serves DELETE /api/v1/crates/<name>/owners with
// {"users":[…]}; the last owner is not removed.
func (h *Handler) removeOwners(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return h.changeOwners(ctx, req, p, false)
}

// Bounds of an owners request.
const (
	maxOwnersBody = 64 << 10
	maxOwners     = 100
	maxLogin      = 100
)

func (h *Handler) changeOwners(ctx context.Context, req *core.RequestContext, p route.Params, add bool) (*core.Response, error) {
	principal, e, err := h.ownedCrate(ctx, req, p, core.ActionWrite)
	if err != nil {
		return nil, err
	}
	logins, err := readLogins(req.Body)
	if err != nil {
		return nil, err
	}
	_, err = h.updateCrate(ctx, e.doc.Head.Name, func(d *crateDoc) error {
		hd := &d.Head
		if !hd.isOwner(principal.UserID) {
			return fmt.Errorf("%w: %s does not own %s", ErrNotOwner, principal.UserID, hd.Name)
		}
		owners := slices.Clone(hd.Owners)
		for _, l := range logins {
			switch {
			case add && !slices.Contains(owners, l):
				owners = append(owners, l)
			case !add:
				owners = slices.DeleteFunc(owners, func(o string) bool { return o == l })
			}
		}
		if len(owners) == 0 {
			return fmt.Errorf("%w: a crate keeps at least one owner", core.ErrInvalidArgument)
		}
		if len(owners) > maxOwners {
			return fmt.Errorf("%w: a crate has at most %d owners", core.ErrInvalidArgument, maxOwners)
		}
		if slices.Equal(owners, hd.Owners) {
			return core.ErrNoChange
		}
		hd.Owners = owners
		hd.Seq++
		return nil
	})
	if err != nil {
		return nil, err
	}
	verb := "added as owner(s) of"
	if !add {
		verb = "removed from the owners of"
	}
	msg := fmt.Sprintf("user(s) %s %s crate %s", strings.Join(logins, ", "), verb, e.doc.Head.Name)
	return core.JSONResponse(http.StatusOK, map[string]any{"ok": true, "msg": msg}), nil
}

// readLogins reads {"users":[…]}: 1 to 100 logins of printable ASCII.
func readLogins(body io.Reader) ([]string, error) {
	if body == nil {
		return nil, fmt.Errorf("%w: want {\"users\":[…]}", core.ErrInvalidArgument)
	}
	b, err := io.ReadAll(io.LimitReader(body, maxOwnersBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxOwnersBody {
		return nil, fmt.Errorf("%w: the owners request is over %d bytes", core.ErrTooLarge, maxOwnersBody)
	}
	var r struct {
		Users []string `json:"users"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Users) == 0 {
		return nil, fmt.Errorf("%w: want {\"users\":[…]} with at least one login", core.ErrInvalidArgument)
	}
	if len(r.Users) > maxOwners {
		return nil, fmt.Errorf("%w: more than %d logins", core.ErrInvalidArgument, maxOwners)
	}
	for _, l := range r.Users {
		if l == "" || len(l) > maxLogin || strings.IndexFunc(l, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
			return nil, fmt.Errorf("%w: login %.100q is empty, too long or not printable ASCII", core.ErrInvalidArgument, l)
		}
	}
	return r.Users, nil
}
