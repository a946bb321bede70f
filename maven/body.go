package maven

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
)

// limitedReader fails with ErrTooLarge once more than left bytes are read.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: the upload is over the size limit", core.ErrTooLarge)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: the upload is over the size limit", core.ErrTooLarge)
	}
	return n, err
}

// errReader remembers the first error of the reader it wraps, so that a
// failed Put can be blamed on the client (the body) or on the storage.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// readError keeps the category of an error reading the request (too
// large, cancelled) and calls anything else a malformed request.
func readError(err error) error {
	if core.HTTPStatus(err) != http.StatusInternalServerError || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: reading the request body: %v", core.ErrInvalidArgument, err)
}

// maxDrain bounds how much of a refused upload's body is read and thrown
// away before the refusal is sent: Maven's HTTP client sends the whole
// body before it reads the answer, and would see a reset connection
// instead of the status were the body left unread. Larger rests are not
// worth reading: the answer then says Connection: close.
const maxDrain = 64 << 20

// drainRefused reads and discards the rest of a refused request's body,
// of which read bytes were consumed, when that rest is at most maxDrain;
// otherwise err is marked so that ErrorResponse answers Connection: close.
func drainRefused(req *core.RequestContext, read int64, err error) error {
	if req.Body == nil {
		return err
	}
	if req.ContentLength >= 0 && req.ContentLength-read > maxDrain {
		return &closeConnection{err}
	}
	n, derr := io.CopyN(io.Discard, req.Body, maxDrain+1)
	if n > maxDrain || (derr != nil && !errors.Is(derr, io.EOF)) {
		return &closeConnection{err}
	}
	return err
}

// closeConnection marks an error whose response must close the
// connection, because the request body was not read to its end.
type closeConnection struct{ error }

func (c *closeConnection) Unwrap() error { return c.error }
