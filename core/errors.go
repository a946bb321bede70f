package core

import (
	"errors"
	"fmt"
	"net/http"
)

// Error categories. Handlers wrap them with fmt.Errorf("%w: ...") and each
// protocol's error function maps them to a status code through [HTTPStatus]
// and renders them in its own body format. Test with errors.Is.
var (
	ErrNotFound            = errors.New("not found")
	ErrInvalidArgument     = errors.New("invalid argument")
	ErrUnauthorized        = errors.New("authentication required")
	ErrForbidden           = errors.New("forbidden")
	ErrConflict            = errors.New("conflict")
	ErrPreconditionFailed  = errors.New("precondition failed")
	ErrTooLarge            = errors.New("too large")
	ErrMethodNotAllowed    = errors.New("method not allowed")
	ErrRangeNotSatisfiable = errors.New("range not satisfiable")
	ErrUnsupported         = errors.New("unsupported")
)

var statusByCategory = []struct {
	err    error
	status int
}{
	{ErrNotFound, http.StatusNotFound},
	{ErrInvalidArgument, http.StatusBadRequest},
	{ErrUnauthorized, http.StatusUnauthorized},
	{ErrForbidden, http.StatusForbidden},
	{ErrConflict, http.StatusConflict},
	{ErrPreconditionFailed, http.StatusPreconditionFailed},
	{ErrTooLarge, http.StatusRequestEntityTooLarge},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed},
	{ErrRangeNotSatisfiable, http.StatusRequestedRangeNotSatisfiable},
	{ErrUnsupported, http.StatusNotImplemented},
}

// HTTPStatus returns the status code for err's category, or 500 when err
// belongs to none.
func HTTPStatus(err error) int {
	for _, c := range statusByCategory {
		if errors.Is(err, c.err) {
			return c.status
		}
	}
	return http.StatusInternalServerError
}

// ClientMessage returns the message to show a client for err: the error text
// for categorised errors, "internal error" for anything that would be a 500,
// so that internal details never leak.
func ClientMessage(err error) string {
	if HTTPStatus(err) == http.StatusInternalServerError {
		return "internal error"
	}
	return err.Error()
}

// RefusedError is returned when a storage hook refuses an operation. It is a
// [ErrForbidden] and carries the hook's reason, which reaches the client.
type RefusedError struct {
	Op     string
	Key    string
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s refused: %s", e.Op, e.Reason)
}

// Unwrap makes a RefusedError match [ErrForbidden].
func (e *RefusedError) Unwrap() error { return ErrForbidden }
