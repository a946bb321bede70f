package pypi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/archive"
	"github.com/smartregistry/smartregistry/internal/digest"
	"github.com/smartregistry/smartregistry/internal/rangeread"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// uploadForm is what the legacy upload form carried: its fields, and the
// file part once it has been streamed to a temporary key.
type uploadForm struct {
	fields   map[string][]string
	filename string
	tmpKey   string
	hashes   *digest.Set
}

func (f *uploadForm) get(k string) string {
	if vs := f.fields[k]; len(vs) > 0 {
		return strings.TrimSpace(vs[0])
	}
	return ""
}

// upload serves POST / with ":action=file_upload", the legacy API twine
// speaks. The file part is streamed to a temporary key while it is hashed;
// then the digests the client sent are checked, the core metadata is read
// back from storage and cross-checked with the file name and the form, the
// file is written to its final key only if absent, and the project document
// gains the file through core.UpdateJSON. On any failure nothing is left
// behind, and what is left of the body is drained before the refusal is
// sent (see reqbody.MaxDrain).
func (h *Handler) upload(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	h.maybeCleanUploads()
	return reqbody.Receive(req, h.cfg.MaxUploadSize, func(body io.Reader) (*core.Response, error) {
		return h.receive(ctx, req, body)
	})
}

// receive does the work of upload, reading the request body through body.
func (h *Handler) receive(ctx context.Context, req *core.RequestContext, body io.Reader) (*core.Response, error) {
	principal, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if principal == nil {
		return nil, fmt.Errorf("%w: uploading needs credentials", core.ErrUnauthorized)
	}
	if err := h.deps.Auth.MayWrite(principal, core.ProtocolPyPI); err != nil {
		return nil, err // before a byte of the body is read
	}
	if req.ContentLength > h.cfg.MaxUploadSize {
		return nil, fmt.Errorf("%w: upload of %d bytes is over the limit of %d", core.ErrTooLarge, req.ContentLength, h.cfg.MaxUploadSize)
	}
	form, err := h.readForm(ctx, req, body, principal)
	defer func() {
		if form != nil && form.tmpKey != "" { // not published: store consumed it otherwise
			h.deleteQuietly(core.WithKind(context.WithoutCancel(ctx), core.KindTemporary), form.tmpKey)
		}
	}()
	if err != nil {
		return nil, err
	}
	up, err := h.checkUpload(ctx, form)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.Authorize(ctx, principal, packageScope(up.project, core.ActionWrite)); err != nil {
		return nil, err
	}
	if err := h.store(ctx, form, up); err != nil {
		return nil, err
	}
	h.log.DebugContext(ctx, "pypi upload", "project", up.project, "version", up.version, "file", form.filename,
		"size", form.hashes.Size(), "user", principal.UserID)
	return core.BytesResponse(http.StatusOK, "text/plain; charset=utf-8", []byte("OK\n")), nil
}

// readForm parses the multipart body as a stream. Fields are small and
// bounded; the "content" part is streamed to a temporary key through the
// hashers. Before the file is streamed, a caller who may not write the
// named project, or a file name already taken, is refused.
func (h *Handler) readForm(ctx context.Context, req *core.RequestContext, body io.Reader, principal *core.Principal) (*uploadForm, error) {
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, fmt.Errorf("%w: an upload is a multipart/form-data request", core.ErrInvalidArgument)
	}
	mr := multipart.NewReader(body, params["boundary"])
	form := &uploadForm{fields: map[string][]string{}}
	fieldBytes := 0
	for parts := 1; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return form, reqbody.ReadError(err)
		}
		if parts > maxFormParts {
			return form, fmt.Errorf("%w: the form has more than %d parts", core.ErrTooLarge, maxFormParts)
		}
		name := part.FormName()
		if name != "content" {
			v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return form, reqbody.ReadError(err)
			}
			fieldBytes += len(name) + len(v) // names are kept too: they count
			if len(v) > maxFormField || fieldBytes > maxFormFields {
				return form, fmt.Errorf("%w: form field %.64q makes the form too large", core.ErrTooLarge, name)
			}
			form.fields[name] = append(form.fields[name], string(v))
			continue
		}
		if form.tmpKey != "" {
			return form, fmt.Errorf("%w: more than one file in the upload", core.ErrInvalidArgument)
		}
		form.filename = rawFileName(part)
		if _, err := ParseFilename(form.filename); err != nil {
			return form, err
		}
		if err := h.precheck(ctx, form, principal); err != nil {
			return form, err
		}
		form.tmpKey = uploadKey(h.now(), uuid.NewString())
		form.hashes = digest.NewSet(digest.SHA256, digest.MD5, digest.BLAKE2b256)
		pr := &reqbody.ErrReader{R: part}
		if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindTemporary), form.tmpKey, form.hashes.Reader(pr), -1, core.PutOptions{}); err != nil {
			if pr.Err != nil {
				return form, reqbody.ReadError(pr.Err)
			}
			return form, fmt.Errorf("store upload %s: %w", form.filename, err)
		}
	}
	if form.tmpKey == "" {
		return form, fmt.Errorf("%w: the upload has no \"content\" file part", core.ErrInvalidArgument)
	}
	return form, nil
}

// rawFileName is the file name of a part exactly as sent: Part.FileName
// strips directories, which would hide a "../" we must refuse.
func rawFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// precheck refuses early, before the file streams in, what would be
// refused after it is read: a project the caller may not write (named by
// the form or, when the form does not name it, by the file name), a file
// name used once and deleted, a file name taken by a file whose sha256
// is not the one the form announces (twine announces it before the file).
// A taken name with the same digest streams on: the same file again is a
// retry, which succeeds as on PyPI.
func (h *Handler) precheck(ctx context.Context, form *uploadForm, principal *core.Principal) error {
	name := form.get("name")
	if name == "" || ValidateName(name) != nil {
		fn, err := ParseFilename(form.filename)
		if err != nil {
			return err
		}
		name = fn.Project
	}
	project := NormalizeName(name)
	if err := h.deps.Auth.Authorize(ctx, principal, packageScope(project, core.ActionWrite)); err != nil {
		return err
	}
	e, err := h.loadEntryDoc(ctx, project)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if at, ok := e.ed.Head.Deleted[form.filename]; ok {
		return fmt.Errorf("%w: %s was deleted on %s", ErrFileNameReused, form.filename, at.UTC().Format(time.DateOnly))
	}
	f, err := fileOf(e.ed, form.filename)
	if err != nil {
		return err
	}
	if f != nil {
		if want := strings.ToLower(form.get("sha256_digest")); want != f.SHA256 {
			return fmt.Errorf("%w: %s", ErrFileExists, form.filename)
		}
	}
	return nil
}

// checkedUpload is an upload whose file, metadata and form agree.
type checkedUpload struct {
	project     string // normalized
	displayName string
	version     string // normalized
	file        Filename
	metadata    []byte
	meta        Metadata
}

// checkUpload verifies the digests, reads the core metadata from the
// stored temporary file, and cross-checks file name, metadata and form.
func (h *Handler) checkUpload(ctx context.Context, form *uploadForm) (*checkedUpload, error) {
	if a := form.get(":action"); a != "file_upload" {
		return nil, fmt.Errorf("%w: :action %q is not supported; use file_upload", core.ErrInvalidArgument, a)
	}
	if v := form.get("protocol_version"); v != "" && v != "1" {
		return nil, fmt.Errorf("%w: protocol_version %q is not supported", core.ErrInvalidArgument, v)
	}
	if form.hashes.Size() == 0 {
		return nil, fmt.Errorf("%w: the file is empty", core.ErrInvalidArgument)
	}
	for field, alg := range map[string]digest.Algorithm{
		"sha256_digest": digest.SHA256, "md5_digest": digest.MD5, "blake2_256_digest": digest.BLAKE2b256,
	} {
		if want := strings.ToLower(form.get(field)); want != "" && want != form.hashes.Hex(alg) {
			return nil, fmt.Errorf("%w: %s does not match the file", core.ErrInvalidArgument, field)
		}
	}
	fn, err := ParseFilename(form.filename)
	if err != nil {
		return nil, err
	}
	if ft := form.get("filetype"); ft != "" && ft != fn.Type {
		return nil, fmt.Errorf("%w: filetype %q does not match file %s", core.ErrInvalidArgument, ft, form.filename)
	}
	raw, err := h.readCoreMetadata(ctx, form.tmpKey, form.hashes.Size(), form.filename)
	if err != nil {
		return nil, err
	}
	meta, err := ParseMetadata(raw)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, form.filename)
	}
	if err := ValidateName(meta.Name); err != nil {
		return nil, err
	}
	project := NormalizeName(meta.Name)
	for what, n := range map[string]string{"file name": fn.Project, "form field name": form.get("name")} {
		if n != "" && NormalizeName(n) != project {
			return nil, fmt.Errorf("%w: the %s says project %q but the metadata says %q", core.ErrInvalidArgument, what, n, meta.Name)
		}
	}
	mv, err := ParseVersion(meta.Version)
	if err != nil {
		return nil, err
	}
	version := mv.String()
	for what, v := range map[string]string{"file name": fn.Version, "form field version": form.get("version")} {
		if v == "" {
			continue
		}
		// Wheel file names escape "-" in versions as "_".
		pv, err := ParseVersion(strings.ReplaceAll(v, "_", "-"))
		if err != nil || pv.String() != version {
			return nil, fmt.Errorf("%w: the %s says version %q but the metadata says %q", core.ErrInvalidArgument, what, v, meta.Version)
		}
	}
	return &checkedUpload{project: project, displayName: meta.Name, version: version, file: fn, metadata: raw, meta: meta}, nil
}

// readCoreMetadata reads METADATA (wheel) or PKG-INFO (sdist) back from the
// stored temporary file: a zip through ranged reads, a tar.gz as a stream.
func (h *Handler) readCoreMetadata(ctx context.Context, key string, size int64, filename string) ([]byte, error) {
	lim := archive.Limits{MaxMemberSize: h.cfg.MaxMetadataSize}
	var raw []byte
	var err, readErr error // readErr: storage failed, which is no fault of the file
	switch {
	case strings.HasSuffix(filename, ".whl"), strings.HasSuffix(filename, ".zip"):
		match := isSdistPKGInfo
		if strings.HasSuffix(filename, ".whl") {
			match = isWheelMetadata
		}
		ra := rangeread.New(ctx, h.deps.Storage, key, size)
		_, raw, err = archive.FromZip(ra, size, match, lim)
		readErr = ra.Err()
	default:
		rc, _, gerr := h.deps.Storage.Get(ctx, key, nil)
		if gerr != nil {
			return nil, fmt.Errorf("read back %s: %w", filename, gerr)
		}
		defer rc.Close()
		stored := &reqbody.ErrReader{R: rc}
		_, raw, err = archive.FromTarGz(stored, isSdistPKGInfo, lim)
		readErr = stored.Err
	}
	if err != nil && readErr != nil {
		return nil, fmt.Errorf("read back %s: %w", filename, readErr)
	}
	if errors.Is(err, archive.ErrInvalid) {
		return nil, fmt.Errorf("%w: %s: no readable core metadata: %w", core.ErrInvalidArgument, filename, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", filename, err)
	}
	return raw, nil
}

// store publishes the checked upload through the commit protocol (see
// core.Publish): its metadata is written beside where the file goes, the
// file moves from its temporary key to a key of its own, and one
// conditional update of the project document lists it. A retry of the same
// file succeeds; a file the document does not list is never served; a
// failure removes what this upload wrote.
func (h *Handler) store(ctx context.Context, form *uploadForm, up *checkedUpload) error {
	ctx = core.WithObject(ctx, core.ObjectRef{Package: up.project, Version: up.version})
	id := core.StageID(form.tmpKey)
	mdKey := metadataKey(up.project, id)
	mdSet := digest.NewSet(digest.SHA256)
	if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindMetadata), mdKey, mdSet.Reader(bytes.NewReader(up.metadata)),
		int64(len(up.metadata)), core.PutOptions{ContentType: "text/plain; charset=utf-8"}); err != nil {
		return fmt.Errorf("store metadata of %s: %w", form.filename, err)
	}
	rec := fileRecord{
		Filename: form.filename, Version: up.version, Type: up.file.Type, PythonVersion: up.file.PythonTag,
		RequiresPython: up.meta.RequiresPython, Size: form.hashes.Size(),
		SHA256: form.hashes.Hex(digest.SHA256), MD5: form.hashes.Hex(digest.MD5), BLAKE2b256: form.hashes.Hex(digest.BLAKE2b256),
		UploadTime: h.now().UTC(), Comment: form.get("comment"), Object: id,
	}
	if up.file.Type == TypeWheel || up.meta.resolvable() {
		rec.MetadataSHA256 = mdSet.Hex(digest.SHA256)
	}
	var written *core.EntryDoc[projectHead]
	var info core.ObjectInfo
	err := core.Publish(ctx, h.deps.Storage, core.Publication{
		Staged: form.tmpKey, Final: fileKey(up.project, id), ContentType: "application/octet-stream",
		Commit: func(ctx context.Context) (err error) {
			written, info, err = h.addFile(ctx, up.project, up.displayName, rec)
			return err
		},
		Listed: func(ctx context.Context) (bool, error) { return h.listsObject(ctx, up.project, form.filename, id) },
	})
	form.tmpKey = ""                  // Publish moved or removed it
	if err != nil || written == nil { // refused, or a retry of a file listed already
		h.deleteQuietly(core.WithKind(context.WithoutCancel(ctx), core.KindMetadata), mdKey)
		return err
	}
	// The /simple/ index lists projects by marker, written when a project
	// gains its first file (or its first after all were deleted). A crash
	// just before this put leaves the project out of /simple/ (not out of
	// its own page, which pip reads) until RebuildIndex.
	h.docs.put(up.project, cachedDoc{etag: info.ETag, ed: written})
	h.prerender(up.project, info.ETag)
	if written.Head.Files > 1 {
		return nil
	}
	if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindIndex), indexKey(up.project), bytes.NewReader(nil), 0, core.PutOptions{IfAbsent: true}); err != nil &&
		!errors.Is(err, core.ErrPreconditionFailed) {
		return fmt.Errorf("index project %s: %w", up.project, err)
	}
	return nil
}

// renderDelay is how long a render waits after an upload: a burst of
// uploads of one project (twine uploading a release's files) is rendered
// once, after its last upload.
const renderDelay = 100 * time.Millisecond

// prerender renders, in the background, the simple pages of the document
// an upload wrote, decoding it from the previous version's files (only the
// new files are decoded), so that the first read after an upload finds its
// page cached without delaying the upload's answer. It waits renderDelay
// first and renders only if no newer version was written meanwhile, so
// that a burst of uploads costs one render, not one per upload; renders
// run one at a time.
func (h *Handler) prerender(project, etag string) {
	h.renders.Go(func() {
		t := time.NewTimer(renderDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-h.closing:
			return
		}
		h.renderMu.Lock()
		defer h.renderMu.Unlock()
		e, ok := h.docs.get(project, etag)
		if !ok {
			return // a newer version is cached; its own render follows
		}
		doc, err := decodeProjectAfter(e.ed, e.prev)
		if err != nil {
			return
		}
		e.doc = doc
		h.docs.put(project, e)
		for _, v := range []variant{variantHTML, variantJSON} {
			if body, err := renderProjectPage(project, doc, v); err == nil {
				h.pages.put(pageKey{project: project, etag: etag, variant: v}, body)
			}
		}
	})
}

func (h *Handler) deleteQuietly(ctx context.Context, key string) {
	if err := h.deps.Storage.Delete(ctx, key); err != nil {
		h.log.WarnContext(ctx, "pypi: cannot delete", "key", key, "error", err)
	}
}
