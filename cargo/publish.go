package cargo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/archive"
	"github.com/smartregistry/smartregistry/internal/counting"
	"github.com/smartregistry/smartregistry/internal/digest"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// publish serves PUT /api/v1/crates/new in cargo's wire format: a
// little-endian uint32 length and the JSON metadata, a uint32 length and
// the .crate. The metadata is checked first (name, version, the caller's
// right to publish the crate, a version not taken); the crate then streams
// into a temporary key while its sha256 is computed, its Cargo.toml is read
// back and must name the same crate and version, and the commit protocol
// (core.Publish) moves it into place and lists it with one conditional
// update of the crate document. On any refusal nothing is left behind.
func (h *Handler) publish(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	h.sweeper.Maybe()
	// The metadata, the two lengths and the crate, with room for the
	// metadata to be refused as too large rather than cut off.
	limit := 8 + h.cfg.MaxMetadataSize + h.cfg.MaxCrateSize
	body := &counting.Reader{R: io.LimitReader(req.Body, limit+1)}
	resp, err := h.receive(ctx, req, body, limit)
	if err != nil {
		return nil, reqbody.DrainRefused(req, body.N, err)
	}
	return resp, nil
}

// receive does the work of publish, reading the body through body.
func (h *Handler) receive(ctx context.Context, req *core.RequestContext, body io.Reader, limit int64) (*core.Response, error) {
	principal, err := h.writer(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.ContentLength > limit {
		return nil, fmt.Errorf("%w: a publish of %d bytes is over the limit of %d", core.ErrTooLarge, req.ContentLength, limit)
	}
	meta, err := ReadPublishMetadata(body, h.cfg.MaxMetadataSize)
	if err != nil {
		return nil, err
	}
	vers, _ := ParseVersion(meta.Vers) // checked by ReadPublishMetadata
	crate := NormalizeName(meta.Name)
	ctx = core.WithObject(ctx, core.ObjectRef{Package: crate, Version: meta.Vers})
	if err := h.precheck(ctx, principal, meta, vers); err != nil {
		return nil, err
	}
	n, err := readLength(body, "crate length")
	if err != nil {
		return nil, err
	}
	if int64(n) > h.cfg.MaxCrateSize {
		return nil, fmt.Errorf("%w: the crate is %d bytes, over the limit of %d", core.ErrTooLarge, n, h.cfg.MaxCrateSize)
	}
	staged := uploadKey(h.now())
	cksum, err := h.stage(ctx, body, staged, int64(n))
	defer func() {
		if staged != "" { // Publish consumed it otherwise
			h.deleteQuietly(core.WithKind(context.WithoutCancel(ctx), core.KindTemporary), staged)
		}
	}()
	if err != nil {
		return nil, err
	}
	if err := h.checkCrate(ctx, staged, meta); err != nil {
		return nil, err
	}
	published := h.now().UTC()
	entry := IndexEntryFor(meta, cksum)
	entry.Pubtime = published.Format(PubtimeLayout)
	line, err := json.Marshal(entry)
	if err != nil {
		return nil, fmt.Errorf("encode index line: %w", err)
	}
	id := core.StageID(staged)
	rec := versionRecord{Vers: meta.Vers, Object: id, Size: int64(n), Cksum: cksum, Published: published,
		Publisher: principal.UserID}
	var written *crateDoc
	var info core.ObjectInfo
	err = core.Publish(ctx, h.deps.Storage, core.Publication{
		Staged: staged, Final: fileKey(crate, id), ContentType: "application/gzip",
		Commit: func(ctx context.Context) (err error) {
			written, info, err = h.addVersion(ctx, principal.UserID, meta.Name, vers, line, rec)
			return err
		},
		Listed: func(ctx context.Context) (bool, error) { return h.listsObject(ctx, crate, vers, id) },
	})
	staged = ""
	if err != nil {
		return nil, err
	}
	if written != nil { // nil: a retry of a version listed already
		h.cache.put(crate, newCached(written, info))
		h.indexSearch(ctx, written, meta)
	}
	h.log.DebugContext(ctx, "cargo publish", "crate", meta.Name, "version", meta.Vers, "size", n, "user", principal.UserID)
	return core.JSONResponse(http.StatusOK, map[string]any{"warnings": map[string][]string{
		"invalid_categories": {}, "invalid_badges": {}, "other": {},
	}}), nil
}

// precheck refuses, before the crate streams in, what would be refused
// after: a caller who may not write the crate or does not own it, another
// spelling of an existing crate's name, a deleted version. A version
// listed already is left to the commit: only the checksum tells a retry of
// the same bytes (which succeeds) from a re-publish (which does not).
func (h *Handler) precheck(ctx context.Context, principal *core.Principal, meta *PublishMetadata, vers Version) error {
	e, err := h.loadCrate(ctx, meta.Name)
	if errors.Is(err, core.ErrNotFound) {
		return h.deps.Auth.Authorize(ctx, principal, crateScope(meta.Name, core.ActionWrite))
	}
	if err != nil {
		return err
	}
	return checkPublish(&e.doc.Head, principal.UserID, meta.Name, vers, func() error {
		return h.deps.Auth.Authorize(ctx, principal, crateScope(e.doc.Head.Name, core.ActionWrite))
	})
}

// checkPublish applies the rules of a publish to an existing crate.
func checkPublish(hd *crateHead, user, name string, vers Version, authorize func() error) error {
	if hd.Name != "" && hd.Name != name {
		return fmt.Errorf("%w: crate %s exists as %s: publish it under that name", core.ErrInvalidArgument, name, hd.Name)
	}
	if err := authorize(); err != nil {
		return err
	}
	if len(hd.Owners) > 0 && !hd.isOwner(user) {
		return fmt.Errorf("%w: %s may not publish %s", ErrNotOwner, user, hd.Name)
	}
	if _, ok := hd.Deleted[vers.withoutBuild()]; ok {
		return fmt.Errorf("%w: %s %s was deleted and cannot be published again", ErrVersionExists, name, vers.withoutBuild())
	}
	return nil
}

// stage streams the crate, n bytes, into key while hashing it, and returns
// its sha256 in hex. A body shorter than announced, or longer, is refused.
func (h *Handler) stage(ctx context.Context, body io.Reader, key string, n int64) (string, error) {
	hashes := digest.NewSet(digest.SHA256)
	src := &exactReader{r: body, left: n}
	if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindTemporary), key, hashes.Reader(src), n,
		core.PutOptions{ContentType: "application/gzip"}); err != nil {
		if src.err != nil {
			return "", src.err
		}
		return "", fmt.Errorf("store crate: %w", err)
	}
	if src.left > 0 {
		return "", fmt.Errorf("%w: truncated publish request: the crate is %d bytes short", core.ErrInvalidArgument, src.left)
	}
	var extra [1]byte
	if m, _ := io.ReadFull(body, extra[:]); m > 0 {
		return "", fmt.Errorf("%w: the publish request has bytes after the crate", core.ErrInvalidArgument)
	}
	return hashes.Hex(digest.SHA256), nil
}

// exactReader reads exactly left bytes from r: an early end is an
// ErrInvalidArgument error, remembered in err.
type exactReader struct {
	r    io.Reader
	left int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = fmt.Errorf("%w: truncated publish request: the crate is %d bytes short", core.ErrInvalidArgument, e.left)
	}
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// checkCrate reads the staged crate's Cargo.toml (<name>-<vers>/Cargo.toml
// of a gzip tar, within the archive bounds) and checks that it names the
// published crate and version.
func (h *Handler) checkCrate(ctx context.Context, key string, meta *PublishMetadata) error {
	rc, _, err := h.deps.Storage.Get(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("read back crate: %w", err)
	}
	defer rc.Close()
	want := meta.Name + "-" + meta.Vers + "/Cargo.toml"
	_, raw, err := archive.FromTarGz(rc, func(name string) bool { return name == want },
		archive.Limits{MaxMemberSize: h.cfg.MaxMetadataSize})
	if errors.Is(err, archive.ErrInvalid) {
		return fmt.Errorf("%w: the crate is not a gzip-compressed tar holding %s: %v", core.ErrInvalidArgument, want, err)
	}
	if err != nil {
		return fmt.Errorf("read back crate: %w", err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return err
	}
	if m.Name != meta.Name || m.Version != meta.Vers {
		return fmt.Errorf("%w: the crate's Cargo.toml says %s %s but the publish says %s %s", core.ErrInvalidArgument,
			m.Name, m.Version, meta.Name, meta.Vers)
	}
	return nil
}

// addVersion lists a placed crate in its document, with one conditional
// update that decodes only the head and the version's record: the same
// .crate listed already is core.ErrAlreadyListed (a retry), another one
// ErrVersionExists.
func (h *Handler) addVersion(ctx context.Context, user, name string, vers Version, line []byte, rec versionRecord) (*crateDoc, core.ObjectInfo, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, core.ObjectInfo{}, err
	}
	return core.UpdateEntryDoc(ctx, h.deps.Storage, crateKey(NormalizeName(name)), func(d *crateDoc, _ bool) error {
		hd := &d.Head
		if err := checkPublish(hd, user, name, vers, func() error { return nil }); err != nil {
			return err
		}
		if cur, ok := record(d, vers); ok {
			if cur.Cksum == rec.Cksum && cur.Vers == rec.Vers {
				return core.ErrAlreadyListed
			}
			return fmt.Errorf("%w: %s %s is already published", ErrVersionExists, hd.Name, cur.Vers)
		}
		if hd.Name == "" {
			hd.Name, hd.Owners = name, []string{user}
		}
		hd.Seq++
		if err := d.Set(rec.Vers, line); err != nil {
			return err
		}
		return d.Set(recordPrefix+vers.withoutBuild(), data)
	})
}

// listsObject reports whether the crate's document lists version vers
// stored under object id.
func (h *Handler) listsObject(ctx context.Context, crate string, vers Version, id string) (bool, error) {
	d, _, err := core.GetEntryDoc[crateHead](ctx, h.deps.Storage, crateKey(crate))
	if err != nil {
		return false, err
	}
	r, ok := record(d, vers)
	return ok && r.Object == id, nil
}

func (h *Handler) deleteQuietly(ctx context.Context, key string) {
	if err := h.deps.Storage.Delete(ctx, key); err != nil && !errors.Is(err, core.ErrNotFound) {
		h.log.WarnContext(ctx, "cargo: cannot delete", "key", key, "error", err)
	}
}

// versionParam parses the {version} wildcard of an API route.
func versionParam(p route.Params) (Version, error) {
	v, err := ParseVersion(p["version"])
	if err != nil {
		return Version{}, fmt.Errorf("%w: no version is %.80q", core.ErrNotFound, p["version"])
	}
	return v, nil
}
