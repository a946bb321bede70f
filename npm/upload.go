package npm

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/digest"
)

// publishRequest is the body of a PUT /<pkg>: a publish (with attachments)
// or a metadata update (deprecate, unpublish of versions). The attachments'
// data is not in it: it went to storage while the body was read.
type publishRequest struct {
	ID          string
	Name        string
	Rev         string
	DistTags    map[string]string
	Versions    map[string]json.RawMessage
	Attachments []attachment
	// Maintainers, when the body has them ("npm owner add/rm"), are the
	// package's new owners.
	Maintainers *[]maintainer
}

// maintainer is one entry of a packument's "maintainers".
type maintainer struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// attachment is one tarball of a publish, as stored.
type attachment struct {
	// File is the attachment's name, e.g. "pkg-1.0.0.tgz".
	File string
	// DeclaredLength is the "length" the client sent, -1 when absent.
	DeclaredLength int64
	// Key is where the decoded tarball was stored.
	Key string
	// Size, SHA1 (hex) and SHA512 (base64) describe the decoded tarball.
	Size   int64
	SHA1   string
	SHA512 string
}

// storeFunc stores an attachment's decoded bytes, read from r until EOF. It
// returns the key it used even when it fails, so the caller can clean up.
type storeFunc func(r io.Reader) (key string, err error)

// parsePublish walks a publish body with a streaming JSON decoder. Every
// field but _attachments.<file>.data is decoded normally, and together may
// not exceed maxMeta bytes. Each data string is never held in memory: it is
// read straight from the stream, through a base64 decoder and the sha1 and
// sha512 hashers, into store, bounded by maxTarball decoded bytes. Every
// byte of the body counts: what the data string holds beyond the base64 of
// its tarball (raw newlines, white space escapes, which the decoder skips)
// counts against maxMeta, so the whole body is bounded by maxMeta plus the
// base64 length of maxTarball. On error the partial request is returned
// too, so the caller can delete what was stored.
func parsePublish(body io.Reader, maxMeta, maxTarball int64, store storeFunc) (*publishRequest, error) {
	src := bufio.NewReaderSize(body, 64<<10)
	w := &bodyWalker{src: src, meter: &meter{r: src, left: maxMeta, what: "the package metadata"},
		maxTarball: maxTarball, store: store}
	w.dec = json.NewDecoder(w.meter)
	req := &publishRequest{}
	if err := w.walk(req); err != nil {
		return req, err
	}
	return req, nil
}

// bodyWalker holds the decoder and the stream under it. When an attachment's
// data string is streamed out of band, the decoder is replaced by one that
// continues after the string (see streamData).
type bodyWalker struct {
	src        *bufio.Reader // the unread rest of the body, below the decoder
	meter      *meter        // bounds the bytes the decoder reads
	dec        *json.Decoder
	maxTarball int64
	store      storeFunc
}

func (w *bodyWalker) walk(req *publishRequest) error {
	err := w.object(func(key string) error {
		switch key {
		case "_id":
			return w.value(&req.ID)
		case "name":
			return w.value(&req.Name)
		case "_rev":
			return w.value(&req.Rev)
		case "dist-tags":
			return w.value(&req.DistTags)
		case "versions":
			return w.value(&req.Versions)
		case "maintainers":
			var m []maintainer
			if err := w.value(&m); err != nil {
				return err
			}
			req.Maintainers = &m
			return nil
		case "_attachments":
			return w.object(func(file string) error { return w.attachment(req, file) })
		}
		return w.skip()
	})
	if err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return errorf(core.ErrInvalidArgument, "invalid JSON body: data after the document")
	}
	return nil
}

// attachment reads one member of _attachments. The attachment is added to
// req as soon as its data is stored, so that it is cleaned up on error.
func (w *bodyWalker) attachment(req *publishRequest, file string) error {
	att := attachment{File: file, DeclaredLength: -1}
	stored := -1
	err := w.object(func(key string) error {
		switch key {
		case "data":
			if stored >= 0 {
				return errorf(core.ErrInvalidArgument, "attachment %q has two data fields", file)
			}
			if len(req.Attachments) > 0 { // refused before it is stored: a body of many would be unbounded
				return errorf(core.ErrInvalidArgument, "a publish carries exactly one version and one attachment")
			}
			err := w.streamData(file, &att)
			if att.Key != "" {
				stored = len(req.Attachments)
				req.Attachments = append(req.Attachments, att)
			}
			return err
		case "length":
			return w.value(&att.DeclaredLength)
		}
		return w.skip()
	})
	if err != nil {
		return err
	}
	if stored < 0 {
		return errorf(core.ErrInvalidArgument, "attachment %q has no data", file)
	}
	req.Attachments[stored].DeclaredLength = att.DeclaredLength
	return nil
}

// object reads a JSON object, calling member for each key; member reads
// the value.
func (w *bodyWalker) object(member func(key string) error) error {
	if err := w.delim('{'); err != nil {
		return err
	}
	for w.dec.More() {
		key, err := w.key()
		if err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
	}
	return w.delim('}')
}

// skip reads a value and discards it.
func (w *bodyWalker) skip() error {
	var v json.RawMessage
	return w.value(&v)
}

// streamData reads the string value after the "data" key directly from the
// stream: base64-decoded and hashed into storage. Then it replaces the
// decoder with one that reads a synthetic prefix restoring the nesting
// ({"_attachments":{"<file>":{"data":""), followed by the rest of the stream,
// and consumes that prefix, so the walk continues as if the decoder had read
// the string itself.
func (w *bodyWalker) streamData(file string, att *attachment) error {
	buffered := w.dec.Buffered()
	if l, ok := buffered.(interface{ Len() int }); ok {
		w.meter.left += int64(l.Len()) // read ahead by the decoder: attachment data, not metadata
	}
	rest := bufio.NewReaderSize(io.MultiReader(buffered, w.src), 64<<10)
	if err := expectByte(rest, ':'); err != nil {
		return err
	}
	if err := expectByte(rest, '"'); err != nil {
		return errorf(core.ErrInvalidArgument, "attachment %q: data must be a base64 string", file)
	}
	// The string may hold the base64 of maxTarball bytes, plus what is left
	// of the metadata budget in bytes the decoder skips.
	str := &jsonStringReader{r: rest, max: int64(base64.StdEncoding.EncodedLen(int(w.maxTarball+1))) + max(w.meter.left, 0)}
	sums := digest.NewSet(digest.SHA1, digest.SHA512)
	decoded := &errRecorder{r: base64.NewDecoder(base64.StdEncoding, str)}
	bounded := &meter{r: decoded, left: w.maxTarball + 1, what: "the tarball"}
	rec := &errRecorder{r: sums.Reader(bounded)}
	key, err := w.store(rec)
	att.Key = key
	switch {
	case decoded.err != nil:
		return dataError(decoded.err)
	case rec.err != nil:
		return rec.err
	case err != nil:
		return err
	case !str.done:
		return errorf(core.ErrInvalidArgument, "attachment %q: data was not read to its end", file)
	}
	att.Size, att.SHA1, att.SHA512 = sums.Size(), sums.Hex(digest.SHA1), sums.Base64(digest.SHA512)
	if extra := str.n - int64(base64.StdEncoding.EncodedLen(int(att.Size))); extra > 0 {
		w.meter.left -= extra // skipped bytes are metadata's to pay for
		if w.meter.left < 0 {
			return errorf(core.ErrTooLarge, "the package metadata is too large (with %d bytes of white space in attachment %q)", extra, file)
		}
	}

	w.src = rest
	w.meter.r = rest
	name, _ := json.Marshal(file)
	prefix := `{"_attachments":{` + string(name) + `:{"data":""`
	w.dec = json.NewDecoder(io.MultiReader(strings.NewReader(prefix), w.meter))
	for range 7 { // { "_attachments" { "<file>" { "data" ""
		if _, err := w.dec.Token(); err != nil {
			return fmt.Errorf("npm: resume after attachment data: %w", err)
		}
	}
	return nil
}

func (w *bodyWalker) delim(d json.Delim) error {
	tok, err := w.dec.Token()
	if err != nil {
		return jsonError(err)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return errorf(core.ErrInvalidArgument, "invalid JSON body: expected %q, found %v", d, tok)
	}
	return nil
}

func (w *bodyWalker) key() (string, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return "", jsonError(err)
	}
	k, ok := tok.(string)
	if !ok {
		return "", errorf(core.ErrInvalidArgument, "invalid JSON body: expected a key, found %v", tok)
	}
	return k, nil
}

func (w *bodyWalker) value(v any) error {
	if err := w.dec.Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError categorises a decoding error: a body over the limit stays
// ErrTooLarge, anything else is a bad request.
func jsonError(err error) error {
	if errors.Is(err, core.ErrTooLarge) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return errorf(core.ErrInvalidArgument, "invalid JSON body: %v", err)
}

// expectByte skips JSON white space and reads want.
func expectByte(r *bufio.Reader, want byte) error {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return errorf(core.ErrInvalidArgument, "invalid JSON body: %v", io.ErrUnexpectedEOF)
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case want:
			return nil
		}
		return errorf(core.ErrInvalidArgument, "invalid JSON body: expected %q, found %q", want, c)
	}
}

// jsonStringReader yields the content of a JSON string whose opening quote
// was read, up to (not including) the closing quote, which sets done. It
// accepts the escapes a base64 string may carry (\/ and white space) and
// refuses the rest; any other byte is passed on for the base64 decoder to
// judge. It reads at most max bytes of the stream (n counts them, escapes
// and white space included), then fails with ErrTooLarge.
type jsonStringReader struct {
	r    *bufio.Reader
	done bool
	max  int64
	n    int64
}

func (s *jsonStringReader) Read(p []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		if s.n >= s.max { // escapes produce nothing: check the stream, not p
			if n > 0 {
				return n, nil
			}
			return 0, errorf(core.ErrTooLarge, "the attachment data is too large")
		}
		if left := s.max - s.n; int64(len(p)-n) > left {
			p = p[:n+int(left)]
		}
		if s.r.Buffered() == 0 {
			if n > 0 {
				return n, nil // hand over what we have rather than wait
			}
			if _, err := s.r.Peek(1); err != nil {
				return n, errorf(core.ErrInvalidArgument, "invalid JSON body: ends inside attachment data")
			}
		}
		chunk, _ := s.r.Peek(min(len(p)-n, s.r.Buffered()))
		i := bytes.IndexAny(chunk, "\"\\")
		if i < 0 {
			n += copy(p[n:], chunk)
			s.discard(len(chunk))
			continue
		}
		n += copy(p[n:], chunk[:i])
		s.discard(i)
		if c, _ := s.r.ReadByte(); c == '"' {
			s.done = true
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		e, err := s.r.ReadByte()
		if err != nil {
			return n, errorf(core.ErrInvalidArgument, "invalid JSON body: ends inside attachment data")
		}
		s.n += 2
		switch e {
		case '/':
			p[n] = '/'
			n++
		case 'n', 'r', 't':
		default:
			return n, errorf(core.ErrInvalidArgument, "attachment data: unexpected escape \\%c", e)
		}
	}
	return n, nil
}

// discard consumes k bytes of the buffered stream and counts them.
func (s *jsonStringReader) discard(k int) {
	_, _ = s.r.Discard(k)
	s.n += int64(k)
}

// meter passes reads through until left bytes were read, then fails with
// an ErrTooLarge saying what was too large.
type meter struct {
	r    io.Reader
	left int64
	what string
}

func (m *meter) Read(p []byte) (int, error) {
	if m.left <= 0 {
		return 0, errorf(core.ErrTooLarge, "%s is too large", m.what)
	}
	if int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.r.Read(p)
	m.left -= int64(n)
	return n, err
}

// errRecorder remembers the first error other than EOF that its reader
// returned, so that it can be reported with its category even when the
// storage backend wrapped it into its own, and told from the errors of the
// readers above it.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// dataError turns an error of the base64 decoder into a bad request.
func dataError(err error) error {
	var corrupt base64.CorruptInputError
	switch {
	case errors.As(err, &corrupt):
		return errorf(core.ErrInvalidArgument, "attachment data is not valid base64 (at byte %d)", int64(corrupt))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(core.ErrInvalidArgument, "attachment data is not valid base64 (truncated)")
	}
	return err
}
