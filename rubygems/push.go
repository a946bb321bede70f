package rubygems

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/archive"
	"github.com/smartregistry/smartregistry/internal/digest"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// maxMetadataGz bounds the compressed metadata.gz member of a .gem.
const maxMetadataGz = 1 << 20

// push serves POST /api/v1/gems: the raw .gem, as gem push sends it. The
// body streams to a temporary key while it is hashed; the gemspec is read
// back from storage (metadata.gz in the .gem's tar) and parsed as plain
// data; then the commit protocol (core.Publish) moves the .gem to a key of
// its own and lists it in the gem document with one conditional update;
// last, /versions gains the version.
func (h *Handler) push(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	h.sweeper.Maybe()
	if req.Body == nil {
		req.Body = http.NoBody
	}
	return reqbody.Receive(req, h.cfg.MaxGemSize, func(body io.Reader) (*core.Response, error) {
		return h.receive(ctx, req, body)
	})
}

func (h *Handler) receive(ctx context.Context, req *core.RequestContext, body io.Reader) (*core.Response, error) {
	principal, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if principal == nil {
		return nil, fmt.Errorf("%w: pushing needs an API key", core.ErrUnauthorized)
	}
	if err := h.deps.Auth.MayWrite(principal, core.ProtocolRubyGems); err != nil {
		return nil, err
	}
	if req.ContentLength > h.cfg.MaxGemSize {
		return nil, fmt.Errorf("%w: a gem of %d bytes is over the limit of %d", core.ErrTooLarge, req.ContentLength, h.cfg.MaxGemSize)
	}
	staged := uploadKey(h.now())
	tmp := core.WithKind(ctx, core.KindTemporary)
	defer func() { _ = h.deps.Storage.Delete(context.WithoutCancel(tmp), staged) }() // gone after Publish anyway
	hashes := digest.NewSet(digest.SHA256)
	src := &reqbody.ErrReader{R: body}
	size := req.ContentLength
	if size < 0 {
		size = -1
	}
	if _, err := h.deps.Storage.Put(tmp, staged, hashes.Reader(src), size, core.PutOptions{}); err != nil {
		if src.Err != nil {
			return nil, reqbody.ReadError(src.Err)
		}
		return nil, fmt.Errorf("store pushed gem: %w", err)
	}
	if hashes.Size() == 0 {
		return nil, fmt.Errorf("%w: the request has no gem in its body", core.ErrInvalidArgument)
	}
	spec, err := h.readSpec(ctx, staged)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.Authorize(ctx, principal, gemScope(spec.Name, core.ActionWrite)); err != nil {
		return nil, err
	}
	rec := versionRecord{Spec: *spec, SHA256: hashes.Hex(digest.SHA256), Size: hashes.Size(),
		Object: core.StageID(staged), Pushed: h.now().UTC()}
	if err := h.publish(ctx, staged, rec); err != nil {
		return nil, err
	}
	h.log.DebugContext(ctx, "rubygems push", "gem", spec.FullName(), "size", rec.Size, "user", principal.UserID)
	return core.BytesResponse(http.StatusOK, "text/plain; charset=utf-8",
		[]byte(fmt.Sprintf("Successfully registered gem: %s (%s)\n", spec.Name, versionID(spec.Version, spec.Platform)))), nil
}

// readSpec reads the gemspec back out of a stored .gem: the plain tar's
// metadata.gz, bounded, decompressed with bounds, parsed as plain data.
func (h *Handler) readSpec(ctx context.Context, key string) (*Spec, error) {
	rc, _, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindTemporary), key, nil)
	if err != nil {
		return nil, fmt.Errorf("read back pushed gem: %w", err)
	}
	defer rc.Close()
	stored := &reqbody.ErrReader{R: rc}
	_, gz, err := archive.FromTar(stored, func(name string) bool { return name == "metadata.gz" },
		archive.Limits{MaxMemberSize: maxMetadataGz, MaxEntries: 64})
	if err != nil && stored.Err != nil {
		return nil, fmt.Errorf("read back pushed gem: %w", stored.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not a gem (a tar holding metadata.gz): %w", core.ErrInvalidArgument, err)
	}
	yml, err := archive.Gunzip(gz, archive.Limits{MaxMemberSize: h.cfg.MaxSpecSize})
	if err != nil {
		return nil, fmt.Errorf("%w: metadata.gz: %w", core.ErrInvalidArgument, err)
	}
	return ParseSpec(yml, SpecLimits{})
}

// publish runs the commit protocol for a pushed .gem and brings /versions
// up to date. A retry of the same bytes succeeds; other bytes for a
// version pushed before are ErrRepush.
func (h *Handler) publish(ctx context.Context, staged string, rec versionRecord) error {
	id := versionID(rec.Version, rec.Platform)
	ctx = core.WithObject(ctx, core.ObjectRef{Package: rec.Name, Version: id})
	if e, err := h.loadGem(ctx, rec.Name); err == nil { // refuse early what the commit would refuse
		if cur, err := e.doc.record(id); err == nil && cur != nil && cur.SHA256 != rec.SHA256 {
			return fmt.Errorf("%w (%s)", ErrRepush, rec.FullName())
		}
	}
	final := fileKey(rec.Name, rec.Object)
	err := core.Publish(ctx, h.deps.Storage, core.Publication{
		Staged: staged, Final: final, ContentType: "application/octet-stream",
		Commit: func(ctx context.Context) error {
			doc, err := h.addVersion(ctx, rec)
			if err == nil {
				h.cacheGem(rec.Name, doc) // syncVersions renders the info file from it, unread
			}
			return err
		},
		Listed: func(ctx context.Context) (bool, error) { return h.listsObject(ctx, rec.Name, id, rec.Object) },
	})
	if err != nil {
		return err
	}
	return h.syncVersions(ctx, rec.Name)
}

// syncVersions appends to /versions what it does not yet say about a gem.
func (h *Handler) syncVersions(ctx context.Context, name string) error {
	return h.versions.sync(ctx, name, func() (*served, error) {
		e, err := h.loadGem(ctx, name)
		if errors.Is(err, core.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return servedOf(e.doc)
	})
}

// RepairVersions brings /versions in line with every gem document: it
// appends what a push or yank whose process crashed between listing the
// version and appending its line (or whose /versions write failed) left
// out. It reads every gem document; run it after a crash, or
// periodically. Lines already right cost nothing.
func (h *Handler) RepairVersions(ctx context.Context) error {
	return h.deps.Storage.Walk(ctx, gemsPrefix, func(o core.ObjectInfo) error {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, gemsPrefix), "/gem.json")
		if !ok || ValidateName(name) != nil {
			return nil
		}
		return h.syncVersions(ctx, name)
	})
}
