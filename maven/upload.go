package maven

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/digest"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// maxChecksumBody bounds an uploaded checksum file.
const maxChecksumBody = 1 << 10

// put serves PUT of any path: a file of a version directory, a checksum of
// one, or a maven-metadata.xml (or its checksum) at any level. The caller
// is identified, and one who may write nothing refused, before a byte of
// the body is read; a refused request's body is drained (up to maxDrain),
// so that the client sees the answer rather than a reset connection.
func (h *Handler) put(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return reqbody.Receive(req, h.cfg.MaxUploadSize, func(body io.Reader) (*core.Response, error) {
		return h.receive(ctx, req, p["path"], body)
	})
}

func (h *Handler) receive(ctx context.Context, req *core.RequestContext, path string, body io.Reader) (*core.Response, error) {
	principal, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.MayWrite(principal, core.ProtocolMaven); err != nil {
		return nil, err
	}
	segs, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	last := segs[len(segs)-1]
	base, alg, isSum := splitChecksum(last)
	if base == MetadataFile {
		if isSum {
			return h.putMetadataChecksum(body, alg)
		}
		return h.putMetadata(ctx, principal, segs[:len(segs)-1], body)
	}
	c, err := ParseCoordinates(strings.Join(append(segs[:len(segs)-1:len(segs)-1], base), "/"))
	if err != nil {
		return nil, err
	}
	fn, err := ParseFileName(c.Artifact, c.Version, c.File)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.Authorize(ctx, principal, ArtifactScope(c.Group, c.Artifact, core.ActionWrite)); err != nil {
		return nil, err
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Package: c.Group + ":" + c.Artifact, Version: c.Version})
	if isSum {
		return h.putChecksum(ctx, c, alg, body)
	}
	if req.ContentLength > h.cfg.MaxUploadSize {
		return nil, fmt.Errorf("%w: %d bytes is over the limit of %d", core.ErrTooLarge, req.ContentLength, h.cfg.MaxUploadSize)
	}
	if err := h.deploy(ctx, c, fn, body); err != nil {
		return nil, err
	}
	h.log.DebugContext(ctx, "maven deploy", "path", c.Path(), "user", principal.UserID)
	return created(), nil
}

func created() *core.Response {
	return core.BytesResponse(http.StatusCreated, "text/plain; charset=utf-8", []byte("201 Created\n"))
}

// deploy streams a file to a temporary key while hashing it, then
// publishes it through the commit protocol (core.Publish): it moves to a
// key of its own and one conditional update of the version document lists
// it; then the artifact document lists the version (also on a retry of a
// file listed already, so that a crash between the two updates heals).
// Objects the commit unlisted (a replaced file, pruned SNAPSHOT builds) are
// deleted last.
func (h *Handler) deploy(ctx context.Context, c Coordinates, fn FileName, body io.Reader) error {
	h.sweeper.Maybe()
	tmp := uploadKey(h.now())
	sums := digest.NewSet(digest.MD5, digest.SHA1, digest.SHA256, digest.SHA512)
	br := &reqbody.ErrReader{R: body}
	in := sums.Reader(br)
	// The POM of what may be a plugin is kept (bounded) on its way
	// through, for the group-level metadata.
	var pomCopy *cappedBuffer
	if fn.Extension == "pom" && fn.Classifier == "" && strings.HasSuffix(c.Artifact, "-plugin") {
		pomCopy = &cappedBuffer{max: int(h.cfg.MaxMetadataSize)}
		in = io.TeeReader(in, pomCopy)
	}
	if _, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindTemporary), tmp, in, -1, core.PutOptions{}); err != nil {
		h.deleteQuietly(core.WithKind(context.WithoutCancel(ctx), core.KindTemporary), tmp)
		if br.Err != nil {
			return reqbody.ReadError(br.Err)
		}
		return fmt.Errorf("store upload %s: %w", c.Path(), err)
	}
	id := core.StageID(tmp)
	rec := fileRecord{Size: sums.Size(), MD5: sums.Hex(digest.MD5), SHA1: sums.Hex(digest.SHA1),
		SHA256: sums.Hex(digest.SHA256), SHA512: sums.Hex(digest.SHA512), Object: id, Uploaded: h.now().UTC()}
	var out added
	err := core.Publish(ctx, h.deps.Storage, core.Publication{
		Staged: tmp, Final: fileKey(c.Group, c.Artifact, c.Version, id), ContentType: contentType(c.File),
		Commit: func(ctx context.Context) (err error) {
			out, err = h.addFile(ctx, c, fn, rec)
			return err
		},
		Listed: func(ctx context.Context) (bool, error) { return h.listsObject(ctx, c, id) },
	})
	if err != nil {
		return err
	}
	if pomCopy != nil && !pomCopy.over {
		if p, ok := ParsePluginPOM(pomCopy.buf.Bytes()); ok && p.ArtifactID == c.Artifact {
			if err := h.addPlugins(core.WithKind(ctx, core.KindMetadata), c.Group, []Plugin{p}); err != nil {
				return err
			}
		}
	}
	// The artifact document lists a version from its first file on; a
	// retry (perhaps after a crash between the two updates) makes sure.
	// Should a crash have cut a deploy short there, the maven-metadata.xml
	// mvn uploads at the end also lists the version (mergeVersions).
	if !out.first && !out.retry {
		return h.deleteUnlisted(ctx, c, out)
	}
	if err := h.addVersion(core.WithKind(ctx, core.KindMetadata), c.Group, c.Artifact, c.Version); err != nil {
		// Refused (a hook) or failed: unlist the file again, so that a
		// refused deploy leaves nothing. Should this fail too, the file
		// stays listed and the version joins the artifact document on a
		// retry, or when mvn uploads its maven-metadata.xml.
		if !errors.Is(err, context.Canceled) && out.removed != nil {
			cleanup := core.WithKind(context.WithoutCancel(ctx), core.KindMetadata)
			if rerr := h.rollbackFile(cleanup, c, id, out); rerr == nil {
				h.deleteQuietly(core.WithKind(cleanup, core.KindArtifact), fileKey(c.Group, c.Artifact, c.Version, id))
			}
		}
		return err
	}
	return h.deleteUnlisted(ctx, c, out)
}

// deleteUnlisted deletes the objects a deploy's commit unlisted.
func (h *Handler) deleteUnlisted(ctx context.Context, c Coordinates, out added) error {
	gone := core.WithKind(context.WithoutCancel(ctx), core.KindArtifact)
	for _, obj := range out.unlisted {
		h.deleteQuietly(gone, fileKey(c.Group, c.Artifact, c.Version, obj))
	}
	return nil
}

// ErrChecksumMismatch refuses an uploaded checksum that does not match
// the stored file's.
var ErrChecksumMismatch = fmt.Errorf("%w: checksum does not match the deployed file", core.ErrInvalidArgument)

// putChecksum compares an uploaded checksum with the one computed when the
// file streamed in: a match is 201 and stores nothing, a mismatch is 400
// and is logged.
func (h *Handler) putChecksum(ctx context.Context, c Coordinates, alg string, body io.Reader) (*core.Response, error) {
	want, err := readChecksum(body, alg)
	if err != nil {
		return nil, err
	}
	ed, _, err := core.GetEntryDoc[versionHead](core.WithKind(ctx, core.KindMetadata), h.deps.Storage,
		versionKey(c.Group, c.Artifact, c.Version))
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return nil, err
	}
	var f fileRecord
	ok := false
	if err == nil {
		if f, ok, err = fileOf(ed, c.File); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s is not deployed; deploy it before its checksum", core.ErrNotFound, c.Path())
	}
	if have := f.checksum(alg); have != want {
		h.log.WarnContext(ctx, "maven: uploaded checksum does not match", "path", c.Path(), "algorithm", alg,
			"uploaded", want, "stored", have)
		return nil, fmt.Errorf("%w: %s of %s is %s, not %s", ErrChecksumMismatch, alg, c.Path(), have, want)
	}
	return created(), nil
}

// putMetadataChecksum accepts a checksum of maven-metadata.xml without
// storing it: the server renders the metadata (merging what the client
// uploaded) and serves the checksums of what it renders. A body that is
// not a checksum is 400.
func (h *Handler) putMetadataChecksum(body io.Reader, alg string) (*core.Response, error) {
	if _, err := readChecksum(body, alg); err != nil {
		return nil, err
	}
	return created(), nil
}

// readChecksum reads and parses a bounded checksum body.
func readChecksum(body io.Reader, alg string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxChecksumBody+1))
	if err != nil {
		return "", reqbody.ReadError(err)
	}
	if len(b) > maxChecksumBody {
		return "", fmt.Errorf("%w: a checksum file is at most %d bytes", core.ErrTooLarge, maxChecksumBody)
	}
	return parseChecksum(b, alg)
}

// contentType is the Content-Type a file is served with.
func contentType(file string) string {
	switch {
	case strings.HasSuffix(file, ".pom"), strings.HasSuffix(file, ".xml"):
		return "application/xml"
	case strings.HasSuffix(file, ".jar"), strings.HasSuffix(file, ".war"), strings.HasSuffix(file, ".ear"):
		return "application/java-archive"
	case strings.HasSuffix(file, ".module"):
		return "application/json"
	case strings.HasSuffix(file, ".asc"):
		return "application/pgp-signature"
	}
	return "application/octet-stream"
}

func (h *Handler) deleteQuietly(ctx context.Context, key string) {
	if err := h.deps.Storage.Delete(ctx, key); err != nil && !errors.Is(err, core.ErrNotFound) {
		h.log.WarnContext(ctx, "maven: cannot delete", "key", key, "error", err)
	}
}
