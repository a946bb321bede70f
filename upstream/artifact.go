package upstream

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// Errors of an artifact's body. The client's response fails with them
// before its last bytes, and nothing is cached.
var (
	// ErrTruncated: the upstream's body ended early or broke off.
	ErrTruncated = errors.New("upstream body truncated")
	// ErrDigestMismatch: the body's size or digest is not the one the
	// metadata promised.
	ErrDigestMismatch = errors.New("upstream body does not match its digest")
)

// Digest is a digest an artifact must have.
type Digest struct {
	// Algorithm is "sha512", "sha384", "sha256", "sha1" or "md5".
	Algorithm string
	// Sum is the raw digest.
	Sum []byte
}

// ParseIntegrity parses a Subresource Integrity string such as npm's
// dist.integrity ("sha512-<base64> sha1-<base64>"); unknown algorithms are
// skipped, a malformed value is an error.
func ParseIntegrity(sri string) ([]Digest, error) {
	var out []Digest
	for _, f := range strings.Fields(sri) {
		alg, b64, ok := strings.Cut(f, "-")
		if !ok {
			return nil, fmt.Errorf("integrity %q: no algorithm", f)
		}
		b64, _, _ = strings.Cut(b64, "?")
		if newHash(alg) == nil {
			continue
		}
		sum, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sum) != newHash(alg).Size() {
			return nil, fmt.Errorf("integrity %q: bad %s digest", f, alg)
		}
		out = append(out, Digest{Algorithm: alg, Sum: sum})
	}
	return out, nil
}

// HexDigest returns the digest of algorithm alg written in hex (npm's
// shasum, a PyPI or Cargo sha256, an OCI digest's hex part).
func HexDigest(alg, hexSum string) (Digest, error) {
	h := newHash(alg)
	if h == nil {
		return Digest{}, fmt.Errorf("unknown digest algorithm %q", alg)
	}
	sum, err := hex.DecodeString(hexSum)
	if err != nil || len(sum) != h.Size() {
		return Digest{}, fmt.Errorf("bad %s digest %q", alg, hexSum)
	}
	return Digest{Algorithm: alg, Sum: sum}, nil
}

func newHash(alg string) hash.Hash {
	switch alg {
	case "sha512":
		return sha512.New()
	case "sha384":
		return sha512.New384()
	case "sha256":
		return sha256.New()
	case "sha1":
		return sha1.New()
	case "md5":
		return md5.New()
	}
	return nil
}

// ArtifactRequest names an immutable artifact to get through the cache.
type ArtifactRequest struct {
	// Name is the package the artifact belongs to, for the provider's
	// scope rules.
	Name string
	// Key is the storage key the artifact is cached at, for good.
	Key string
	// Path is the artifact's path below each upstream's URL, starting with
	// "/" and percent-encoded; an absolute URL is fetched as it is, with
	// the credentials of the upstream From names, else of the upstream it
	// lies under (none elsewhere).
	Path string
	// Header is added to the upstream request.
	Header http.Header
	// From names the upstream the metadata came from ([Document.Upstream]):
	// an absolute Path is asked of it, with its credentials.
	From string
	// StagePrefix is where the bytes are staged while they arrive ([core.StageKey]);
	// the protocol's sweeper removes what a crash leaves there.
	StagePrefix string
	// Size is the size the metadata promised, or 0 when unknown; the
	// upstream's Content-Length is checked too.
	Size int64
	// Digests are the digests the metadata promised; all must match.
	// Without any, only the size is checked.
	Digests []Digest
	// ContentType is the served Content-Type; default
	// application/octet-stream.
	ContentType string
}

// Artifact is an artifact being served.
type Artifact struct {
	// Body streams the bytes; the caller closes it. Fetched from an
	// upstream, a read fails (with [ErrTruncated] or [ErrDigestMismatch])
	// before the last bytes when the body turns out wrong.
	Body io.ReadCloser
	// Size is the length in bytes, or -1 when unknown.
	Size int64
	// ContentType is the request's ContentType.
	ContentType string
	// Cached is true when it was served from the cache.
	Cached bool
}

// Artifact returns the artifact req names: from the cache, or streamed
// from the first upstream that has it while it fills the cache (see the
// package comment). A caller that finds another caller of this process
// filling the key waits for it and reads the cache; one that finds another
// process filling it (the key's lease) streams from the upstream without
// caching, and the callers of this process that waited for that stream
// wait for the other process's copy.
func (c *Client) Artifact(ctx context.Context, req ArtifactRequest) (*Artifact, error) {
	if req.ContentType == "" {
		req.ContentType = "application/octet-stream"
	}
	for failed, waited := 0, 0; failed < 3 && waited < 10; {
		if a, err := c.cachedArtifact(ctx, req); !errors.Is(err, core.ErrNotFound) {
			return a, err
		}
		f, leader := c.flights.start("a:" + req.Key)
		if leader {
			return c.fill(ctx, req, f)
		}
		if err := f.wait(ctx); err != nil {
			return nil, err
		}
		if f.val == passedThrough {
			// Another process holds the lease and fills the cache: wait
			// for it rather than stream the artifact once more.
			c.waitLease(ctx, req.Key)
			waited++
			continue
		}
		failed++
	}
	return nil, fmt.Errorf("%w: %s: fills keep failing", ErrUnavailable, req.Key)
}

func (c *Client) cachedArtifact(ctx context.Context, req ArtifactRequest) (*Artifact, error) {
	rc, info, err := c.cfg.Storage.Get(core.WithKind(ctx, core.KindArtifact), req.Key, nil)
	if err != nil {
		return nil, err
	}
	return &Artifact{Body: rc, Size: info.Size, ContentType: req.ContentType, Cached: true}, nil
}

// passedThrough is the outcome of a fill that streamed the artifact to its
// caller without caching it, because another process holds the key's
// lease (and is filling the cache).
const passedThrough = "passed through"

// fill fetches the artifact and streams it to the caller and into the
// cache; it finishes the flight f when the fill ends.
func (c *Client) fill(ctx context.Context, req ArtifactRequest, f *flight) (*Artifact, error) {
	key := "a:" + req.Key
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.policy.FillTimeout)
	release, caching := c.acquire(fctx, req.Key)
	end := func(err error) {
		var val any
		if caching {
			release()
		} else {
			val = passedThrough
		}
		cancel()
		c.flights.finish(key, f, val, err)
	}
	resp, err := c.fetch(fctx, http.MethodGet, req.Name, req.Path, req.Header, req.From)
	if err != nil {
		end(err)
		return nil, err
	}
	size := int64(-1)
	if req.Size > 0 {
		size = req.Size
	}
	if cl, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && cl >= 0 {
		if size >= 0 && cl != size {
			resp.Body.Close()
			err := fmt.Errorf("%w: upstream %s sends %d bytes, %d expected", ErrDigestMismatch, resp.Upstream.Name, cl, size)
			end(err)
			return nil, err
		}
		size = cl
	}
	pr, pw := io.Pipe()
	v := newVerifier(resp.Body, size, req.Digests, pw, !caching)
	go func() {
		defer resp.Body.Close()
		var err error
		if caching {
			err = c.stage(fctx, req, v, size)
		}
		if !v.done && v.err == nil {
			_, _ = io.Copy(io.Discard, v) // the client still reads: go on without the cache
		}
		if err != nil && v.err == nil && !errors.Is(err, errClientGone) {
			c.log.Warn("upstream: caching an artifact failed", "key", req.Key, "error", err)
		}
		pw.CloseWithError(v.err)
		end(v.err)
	}()
	return &Artifact{Body: &clientBody{pr}, Size: size, ContentType: req.ContentType}, nil
}

// stage streams the verified body into a staged key and moves it into
// place.
func (c *Client) stage(ctx context.Context, req ArtifactRequest, v *verifier, size int64) error {
	staged := core.StageKey(req.StagePrefix, c.now())
	tmp := core.WithKind(ctx, core.KindTemporary)
	if _, err := c.cfg.Storage.Put(tmp, staged, v, size, core.PutOptions{}); err != nil {
		_ = c.cfg.Storage.Delete(tmp, staged)
		return err
	}
	if !v.done {
		_ = c.cfg.Storage.Delete(tmp, staged)
		return fmt.Errorf("%w: the storage did not read the whole body", ErrTruncated)
	}
	if _, err := c.cfg.Storage.Move(core.WithKind(ctx, core.KindArtifact), staged, req.Key,
		core.PutOptions{ContentType: req.ContentType}); err != nil {
		_ = c.cfg.Storage.Delete(tmp, staged)
		return err
	}
	return nil
}

// errClientGone ends a pass-through whose client went away.
var errClientGone = errors.New("client went away")

// clientBody is the client's end of the stream: closing it early tells the
// fill to go on alone.
type clientBody struct{ pr *io.PipeReader }

func (b *clientBody) Read(p []byte) (int, error) { return b.pr.Read(p) }
func (b *clientBody) Close() error {
	return b.pr.CloseWithError(errClientGone)
}

// verifier reads the upstream body for the storage, hashing it and copying
// it to the client. The last bytes are given out only once the size and
// digests are checked; a short, long or mismatching body fails the read
// instead, so neither the storage nor the client gets a complete object.
// Hashing runs in a goroutine of its own (see hasher), beside the network
// and storage I/O.
type verifier struct {
	r      io.Reader
	size   int64 // -1 when unknown
	n      int64
	hash   *hasher
	client *io.PipeWriter // nil once the client has gone
	// stopAlone ends the read once the client has gone (no cache fill).
	stopAlone bool
	done      bool
	err       error
}

func newVerifier(r io.Reader, size int64, digests []Digest, client *io.PipeWriter, stopAlone bool) *verifier {
	return &verifier{r: r, size: size, client: client, stopAlone: stopAlone, hash: newHasher(digests)}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.done {
		return 0, io.EOF
	}
	if v.err != nil {
		return 0, v.err
	}
	if v.client == nil && v.stopAlone {
		return v.fail(errClientGone)
	}
	n, err := v.r.Read(p)
	v.hash.write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		return v.fail(fmt.Errorf("%w: more than %d bytes", ErrDigestMismatch, v.size))
	}
	complete := (v.size >= 0 && v.n == v.size) || (v.size < 0 && err == io.EOF)
	if !complete {
		if err == io.EOF {
			return v.fail(fmt.Errorf("%w: %d of %d bytes", ErrTruncated, v.n, v.size))
		}
		if err != nil {
			return v.fail(fmt.Errorf("%w: %w", ErrTruncated, err))
		}
		v.toClient(p[:n])
		return n, nil
	}
	if err == nil {
		var one [1]byte
		if m, _ := io.ReadFull(v.r, one[:]); m > 0 {
			return v.fail(fmt.Errorf("%w: more than %d bytes", ErrDigestMismatch, v.size))
		}
	}
	if !v.hash.matches() {
		return v.fail(fmt.Errorf("%w (%d bytes)", ErrDigestMismatch, v.n))
	}
	v.done = true
	v.toClient(p[:n])
	return n, io.EOF
}

func (v *verifier) fail(err error) (int, error) {
	v.err = err
	v.hash.stop()
	return 0, err
}

// toClient copies b to the client, at the client's pace, until it goes.
func (v *verifier) toClient(b []byte) {
	if v.client == nil || len(b) == 0 {
		return
	}
	if _, err := v.client.Write(b); err != nil {
		v.client = nil
	}
}

// hasher computes the digests of a stream in a goroutine, fed in blocks
// of hashBlock bytes through a short queue, so that hashing overlaps the
// reading and writing of the next blocks. Memory: at most hashQueue+2
// blocks.
type hasher struct {
	hashes []hash.Hash
	want   [][]byte
	buf    []byte
	queue  chan []byte
	free   chan []byte
	done   chan struct{}
	closed bool
}

const (
	hashBlock = 256 << 10
	hashQueue = 4
)

func newHasher(digests []Digest) *hasher {
	h := &hasher{}
	for _, d := range digests {
		h.hashes = append(h.hashes, newHash(d.Algorithm))
		h.want = append(h.want, d.Sum)
	}
	if len(h.hashes) == 0 {
		return h
	}
	h.queue, h.free, h.done = make(chan []byte, hashQueue), make(chan []byte, hashQueue+2), make(chan struct{})
	for range hashQueue + 2 {
		h.free <- make([]byte, 0, hashBlock)
	}
	h.buf = <-h.free
	go func() {
		defer close(h.done)
		for b := range h.queue {
			for _, x := range h.hashes {
				x.Write(b)
			}
			h.free <- b[:0]
		}
	}()
	return h
}

// write queues p for hashing (copied: the caller reuses p).
func (h *hasher) write(p []byte) {
	if h.queue == nil {
		return
	}
	for len(p) > 0 {
		k := min(len(p), hashBlock-len(h.buf))
		h.buf = append(h.buf, p[:k]...)
		p = p[k:]
		if len(h.buf) == hashBlock {
			h.queue <- h.buf
			h.buf = <-h.free
		}
	}
}

// matches waits for the hashing to finish and compares the digests.
func (h *hasher) matches() bool {
	if h.queue == nil {
		return true
	}
	if len(h.buf) > 0 {
		h.queue <- h.buf
		h.buf = nil
	}
	h.stop()
	<-h.done
	for i, x := range h.hashes {
		if subtle.ConstantTimeCompare(x.Sum(nil), h.want[i]) != 1 {
			return false
		}
	}
	return true
}

// stop ends the hashing goroutine.
func (h *hasher) stop() {
	if h.queue != nil && !h.closed {
		h.closed = true
		close(h.queue)
	}
}
