// Package reqbody reads upload request bodies the way protocol handlers
// need: bounded, with the client's read errors told apart from the
// storage's, and drained before a refusal so that the client sees the
// answer rather than a reset connection.
package reqbody

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
)

// Limited fails with core.ErrTooLarge once more than Left bytes are read
// from R.
type Limited struct {
	R io.Reader
	// Left is how many bytes may still be read; it goes below zero when
	// the limit is passed.
	Left int64
}

// Read reads from R, refusing to go past the limit.
func (l *Limited) Read(p []byte) (int, error) {
	if l.Left < 0 {
		return 0, fmt.Errorf("%w: the upload is over the size limit", core.ErrTooLarge)
	}
	if int64(len(p)) > l.Left+1 {
		p = p[:l.Left+1]
	}
	n, err := l.R.Read(p)
	l.Left -= int64(n)
	if l.Left < 0 {
		return n, fmt.Errorf("%w: the upload is over the size limit", core.ErrTooLarge)
	}
	return n, err
}

// ErrReader remembers the first error of the reader it wraps, so that a
// failed storage write can be blamed on the client (the body) or on the
// storage.
type ErrReader struct {
	R io.Reader
	// Err is the first error R returned other than io.EOF.
	Err error
}

// Read reads from R and records its first error.
func (e *ErrReader) Read(p []byte) (int, error) {
	n, err := e.R.Read(p)
	if err != nil && err != io.EOF && e.Err == nil {
		e.Err = err
	}
	return n, err
}

// ReadError keeps the category of an error reading the request (too
// large, cancelled) and calls anything else a malformed request
// (core.ErrInvalidArgument).
func ReadError(err error) error {
	if core.HTTPStatus(err) != http.StatusInternalServerError || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: malformed upload: %v", core.ErrInvalidArgument, err)
}

// MaxDrain bounds how much of a refused upload's body is read and thrown
// away before the refusal is sent. Most clients (twine, Maven's wagon,
// cargo, gem) send the whole body before they read the answer; were the connection
// closed with the body unread, the kernel would reset it, and the client
// would see a broken pipe or "connection reset" instead of the status.
// Larger rests are not worth reading: the answer says Connection: close.
const MaxDrain = 64 << 20

// DrainRefused reads and discards the rest of a refused upload's body, of
// which read bytes were consumed, when that rest is at most MaxDrain. When
// it is larger, or unknown and found larger, or the body broke, err is
// marked (CloseConnection) so that the error response closes the
// connection.
func DrainRefused(req *core.RequestContext, read int64, err error) error {
	if req.Body == nil {
		return err
	}
	if req.ContentLength >= 0 && req.ContentLength-read > MaxDrain {
		return &CloseConnection{err}
	}
	n, derr := io.CopyN(io.Discard, req.Body, MaxDrain+1)
	if n > MaxDrain || (derr != nil && !errors.Is(derr, io.EOF)) {
		return &CloseConnection{err}
	}
	return err
}

// Receive serves an upload: receive reads req.Body through a Limited of
// limit bytes, and when it refuses the upload, the rest of the body is
// drained (DrainRefused) before the refusal is returned.
func Receive(req *core.RequestContext, limit int64, receive func(body io.Reader) (*core.Response, error)) (*core.Response, error) {
	body := &Limited{R: req.Body, Left: limit}
	resp, err := receive(body)
	if err != nil {
		return nil, DrainRefused(req, limit-body.Left, err)
	}
	return resp, nil
}

// CloseConnection marks an error whose response must close the
// connection, because the request body was not read to its end.
type CloseConnection struct{ error }

// Unwrap returns the marked error.
func (c *CloseConnection) Unwrap() error { return c.error }

// Close marks err with CloseConnection.
func Close(err error) error { return &CloseConnection{err} }

// MustClose reports whether err is marked with CloseConnection.
func MustClose(err error) bool {
	cc := (*CloseConnection)(nil)
	return errors.As(err, &cc)
}
