package core

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
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
	// ErrTooManyRequests refuses a caller who must slow down, such as
	// one locked out after failed logins ([LoginThrottle]).
	ErrTooManyRequests = errors.New("too many requests")
	// ErrUnavailable says that something the request needs cannot be had
	// now, such as a package no upstream registry answered for.
	ErrUnavailable = errors.New("unavailable")
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
	{ErrTooManyRequests, http.StatusTooManyRequests},
	{ErrUnavailable, http.StatusServiceUnavailable},
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
// so that internal details never leak. For a storage hook's refusal it is
// the [RefusedError]'s own text, "<op> refused: <hook's message>", without
// what the handler wrapped around it.
func ClientMessage(err error) string {
	if HTTPStatus(err) == http.StatusInternalServerError {
		return "internal error"
	}
	if refused := (*RefusedError)(nil); errors.As(err, &refused) {
		return refused.Error()
	}
	return err.Error()
}

// RefusedError is returned when a storage hook refuses an operation. Its
// category is the hook's: a hook error that wraps one of the categories
// above keeps it (quota exceeded as fmt.Errorf("%w: ...", ErrTooLarge) is a
// 413), any other hook error is an [ErrForbidden] (403). Either way the
// client sees "<op> refused: <hook's message>" in its protocol's error body.
type RefusedError struct {
	// Op is the refused operation: "put" or "delete".
	Op string
	// Key is the storage key the operation was for.
	Key string
	// Reason is the text shown to the client; when empty, Err's text.
	Reason string
	// Err is the hook's error, or nil. [errors.Is] and [errors.As] see it.
	Err error
}

// Error returns "<op> refused: <reason>".
func (e *RefusedError) Error() string {
	reason := e.Reason
	if reason == "" && e.Err != nil {
		reason = e.Err.Error()
	}
	return fmt.Sprintf("%s refused: %s", e.Op, reason)
}

// Unwrap returns the hook's error, and [ErrForbidden] as well unless that
// error already belongs to a category.
func (e *RefusedError) Unwrap() []error {
	switch {
	case e.Err == nil:
		return []error{ErrForbidden}
	case HTTPStatus(e.Err) != http.StatusInternalServerError:
		return []error{e.Err}
	default:
		return []error{e.Err, ErrForbidden}
	}
}

// HideKeys returns msg with every storage key that starts with one of
// prefixes replaced by "(storage object)". A protocol's error function
// passes a 4xx message through it with its own key prefixes, so that a
// storage error wrapped on its way up (a backend refusing a key, a lost
// race) never shows the client where things are kept; handlers should
// still say what the client sent instead. A key ends at white space, a
// quote or a colon, which no key of this module contains.
func HideKeys(msg string, prefixes ...string) string {
	for _, p := range prefixes {
		if p == "" {
			continue
		}
		for i := strings.Index(msg, p); i >= 0; i = strings.Index(msg, p) {
			end := i + strings.IndexFunc(msg[i:], func(r rune) bool {
				return unicode.IsSpace(r) || r == '"' || r == '\'' || r == ':' || r == '\\'
			})
			if end < i {
				end = len(msg)
			}
			msg = msg[:i] + "(storage object)" + msg[end:]
		}
	}
	return msg
}
