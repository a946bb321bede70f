package composer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/digest"
	"github.com/smartregistry/smartregistry/internal/rangeread"
	"github.com/smartregistry/smartregistry/internal/route"
)

// uploadResult is the body of a successful upload.
type uploadResult struct {
	Status  string `json:"status"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// VersionNormalized is the version as Composer normalizes it.
	VersionNormalized string `json:"version_normalized"`
	Shasum            string `json:"shasum"`
}

// upload serves PUT /packages/<vendor>/<package>[?version=]: the body is a
// zip, streamed to a temporary key while its sha1 is computed; then its
// composer.json is read back from storage (bounded, see readManifest) and
// must name the package; the version is ?version= when given, else
// composer.json's "version"; and the zip is published through the commit
// protocol (core.Publish): moved to a key of its own and listed by one
// conditional update of the package document. The same zip again is a
// retry and succeeds; other bytes under a listed version are refused with
// 409. On any failure nothing is left behind.
func (h *Handler) upload(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, err := packageParam(p)
	if err != nil {
		return nil, err
	}
	principal, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.MayWrite(principal, core.ProtocolComposer); err != nil {
		return nil, err
	}
	if err := h.deps.Auth.Authorize(ctx, principal, packageScope(name, core.ActionWrite)); err != nil {
		return nil, err
	}
	if req.ContentLength > h.cfg.MaxUploadSize {
		return nil, fmt.Errorf("%w: upload of %d bytes is over the limit of %d", core.ErrTooLarge, req.ContentLength, h.cfg.MaxUploadSize)
	}
	queryVersion := req.Query.Get("version")
	if queryVersion != "" {
		if _, err := NormalizeVersion(queryVersion); err != nil {
			return nil, err
		}
	}
	h.sweeper.Maybe()
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name})
	tmp := uploadKey(h.now(), uuid.NewString())
	defer func() { // Publish moved or removed it when it ran
		if tmp != "" {
			_ = h.deps.Storage.Delete(core.WithKind(context.WithoutCancel(ctx), core.KindTemporary), tmp)
		}
	}()
	hashes := digest.NewSet(digest.SHA1)
	body := &limitedReader{r: req.Body, left: h.cfg.MaxUploadSize}
	size := req.ContentLength // known: S3 takes it in one streamed PUT
	if size <= 0 {
		size = -1
	}
	if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindTemporary), tmp, hashes.Reader(body), size, core.PutOptions{}); err != nil {
		if body.err != nil {
			return nil, body.err
		}
		return nil, fmt.Errorf("store upload of %s: %w", name, err)
	}
	if hashes.Size() == 0 {
		return nil, fmt.Errorf("%w: the upload is empty; send a zip", core.ErrInvalidArgument)
	}
	m, err := h.readUploadedManifest(ctx, tmp, hashes.Size())
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(m.Name, name) {
		return nil, fmt.Errorf("%w: composer.json names %q, not %s", core.ErrInvalidArgument, m.Name, name)
	}
	pretty := queryVersion
	if pretty == "" {
		pretty = m.Version
	}
	if pretty == "" {
		return nil, fmt.Errorf("%w: no version: add ?version= to the URL or \"version\" to composer.json", core.ErrInvalidArgument)
	}
	normalized, err := NormalizeVersion(pretty)
	if err != nil {
		return nil, err
	}
	pretty = strings.TrimSpace(pretty)
	ctx = core.WithObject(ctx, core.ObjectRef{Version: normalized})
	object := core.StageID(tmp)
	var written *core.EntryDoc[packageHead]
	var writtenInfo core.ObjectInfo
	idx := indexEntry{Description: m.Description, Type: m.Type}
	needMarker := true // unless the commit says otherwise; a retry writes it
	rec := &versionRecord{Version: pretty, Object: object, SHA1: hashes.Hex(digest.SHA1), Size: hashes.Size(),
		Time: h.now().UTC(), Fields: m.Fields}
	err = core.Publish(ctx, h.deps.Storage, core.Publication{
		Staged: tmp, Final: distKey(name, object), ContentType: "application/zip",
		Commit: func(ctx context.Context) error {
			ed, info, mark, err := h.addVersion(ctx, name, normalized, rec, idx)
			if err == nil {
				written, writtenInfo, needMarker = ed, info, mark
			}
			return err
		},
		Listed: func(ctx context.Context) (bool, error) { return h.listsObject(ctx, name, normalized, object) },
	})
	tmp = ""
	if err != nil {
		return nil, err
	}
	if needMarker {
		h.markIndexed(ctx, name, idx)
	}
	if written != nil {
		h.prerender(name, req.BaseURL, written, writtenInfo)
	}
	h.log.DebugContext(ctx, "composer upload", "package", name, "version", normalized, "size", rec.Size,
		"user", principal.UserID)
	return core.JSONResponse(http.StatusCreated, uploadResult{Status: "success", Name: name, Version: pretty,
		VersionNormalized: normalized, Shasum: rec.SHA1}), nil
}

// readUploadedManifest reads and parses composer.json out of the stored
// upload.
func (h *Handler) readUploadedManifest(ctx context.Context, key string, size int64) (*Manifest, error) {
	ra := rangeread.New(core.WithKind(ctx, core.KindTemporary), h.deps.Storage, key, size)
	raw, err := readManifest(ra, size, zipLimits{maxEntries: h.cfg.MaxZipEntries, maxManifest: h.cfg.MaxManifestSize,
		maxRatio: h.cfg.MaxCompressionRatio})
	if ra.Err() != nil {
		return nil, fmt.Errorf("read back the upload: %w", ra.Err())
	}
	if err != nil {
		return nil, err
	}
	return ParseManifest(raw)
}

// markIndexed writes the package's marker (description and type of the
// version just uploaded) for packages.json, list.json and search.json. A
// failure is logged: the version is published, and RebuildIndex repairs
// the marker.
func (h *Handler) markIndexed(ctx context.Context, name string, e indexEntry) {
	b, _ := json.Marshal(e)
	if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindIndex), indexKey(name), bytes.NewReader(b), int64(len(b)),
		core.PutOptions{ContentType: "application/json"}); err != nil {
		h.log.WarnContext(ctx, "composer: cannot index package", "package", name, "error", err)
	}
	h.index.invalidate()
}

// limitedReader fails with ErrTooLarge once more than left bytes are read,
// and remembers the first error of the body, so that a failed Put can be
// blamed on the client or on the storage.
type limitedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.r == nil {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		err = fmt.Errorf("%w: the upload is over the size limit", core.ErrTooLarge)
	}
	if err != nil && !errors.Is(err, io.EOF) && l.err == nil {
		if core.HTTPStatus(err) == http.StatusInternalServerError && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w: reading the upload: %v", core.ErrInvalidArgument, err)
		}
		l.err = err
	}
	return n, err
}
