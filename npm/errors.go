package npm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// Error is an error in one of the core categories whose text is exactly
// what the npm CLI should print, without the category's own prefix
// ("You cannot publish over the previously published versions: 1.0.0.").
type Error struct {
	// Category is one of the core error categories, e.g. core.ErrForbidden.
	Category error
	// Message is shown to the client.
	Message string
}

// Error returns the message, which is what the client shows.
func (e *Error) Error() string { return e.Message }

// Unwrap makes an Error match its category with errors.Is.
func (e *Error) Unwrap() error { return e.Category }

// errorf builds an [Error] of category cat.
func errorf(cat error, format string, args ...any) error {
	return &Error{Category: cat, Message: fmt.Sprintf(format, args...)}
}

// Sentinels of this protocol, for errors.Is in tests and callers.
var (
	// ErrVersionExists refuses a publish over a published version.
	ErrVersionExists = errors.New("version exists")
	// ErrVersionUnpublished refuses a publish over an unpublished version.
	ErrVersionUnpublished = errors.New("version was unpublished")
)

// publishOverError is the public registry's refusal of a re-publish: 403.
func publishOverError(version string) error {
	return fmt.Errorf("%w: %w", ErrVersionExists,
		errorf(core.ErrForbidden, "You cannot publish over the previously published versions: %s.", version))
}

// publishUnpublishedError refuses a version that was unpublished: 403.
func publishUnpublishedError(name, version string) error {
	return fmt.Errorf("%w: %w", ErrVersionUnpublished,
		errorf(core.ErrForbidden, "Cannot publish %s@%s over a previously unpublished version.", name, version))
}

// ErrorResponse renders err the way the npm CLI reads errors: a JSON body
// {"error": "<message>"} with the status of the error's category (401 asks
// the user to log in, 403 is a refusal, 404 a missing package). Internal
// errors are logged by the registry and shown only as "internal error".
func (h *Handler) ErrorResponse(_ context.Context, _ *core.RequestContext, err error) *core.Response {
	status := core.HTTPStatus(err)
	msg := core.HideKeys(core.ClientMessage(err), keyPrefixes...)
	var e *Error
	if status < http.StatusInternalServerError && errors.As(err, &e) {
		msg = e.Message
	}
	resp := core.JSONResponse(status, map[string]string{"error": msg})
	if mna := (*route.MethodNotAllowedError)(nil); errors.As(err, &mna) {
		resp.Header.Set("Allow", strings.Join(mna.Allow, ", "))
	}
	return resp
}
