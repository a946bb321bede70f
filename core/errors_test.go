package core_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestHTTPStatusAndClientMessage(t *testing.T) {
	tests := []struct {
		err     error
		status  int
		message string
	}{
		{fmt.Errorf("%w: package x", core.ErrNotFound), http.StatusNotFound, "not found: package x"},
		{fmt.Errorf("%w: bad name", core.ErrInvalidArgument), http.StatusBadRequest, "invalid argument: bad name"},
		{core.ErrUnauthorized, http.StatusUnauthorized, "authentication required"},
		{core.ErrForbidden, http.StatusForbidden, "forbidden"},
		{core.ErrConflict, http.StatusConflict, "conflict"},
		{core.ErrPreconditionFailed, http.StatusPreconditionFailed, "precondition failed"},
		{core.ErrTooLarge, http.StatusRequestEntityTooLarge, "too large"},
		{core.ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method not allowed"},
		{core.ErrRangeNotSatisfiable, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable"},
		{core.ErrUnsupported, http.StatusNotImplemented, "unsupported"},
		// Wrapped twice, still its category.
		{fmt.Errorf("publish: %w", fmt.Errorf("%w: v1", core.ErrConflict)), http.StatusConflict, "publish: conflict: v1"},
		// Uncategorised errors are 500 and never shown.
		{errors.New("dial tcp 10.0.0.1:9000: connection refused"), http.StatusInternalServerError, "internal error"},
		{nil, http.StatusInternalServerError, "internal error"},
		// A storage hook's refusal is a 403 carrying its reason.
		{&core.RefusedError{Op: "put", Key: "npm/x", Reason: "quota exceeded"}, http.StatusForbidden, "put refused: quota exceeded"},
		// The hook's error chooses the category; an uncategorised one is 403.
		{&core.RefusedError{Op: "put", Key: "k", Err: fmt.Errorf("%w: tenant acme is over 1 GiB", core.ErrTooLarge)},
			http.StatusRequestEntityTooLarge, "put refused: too large: tenant acme is over 1 GiB"},
		{&core.RefusedError{Op: "put", Key: "k", Err: fmt.Errorf("%w: read-only tenant", core.ErrForbidden)},
			http.StatusForbidden, "put refused: forbidden: read-only tenant"},
		{&core.RefusedError{Op: "delete", Key: "k", Err: errors.New("retention period")},
			http.StatusForbidden, "delete refused: retention period"},
		{&core.RefusedError{Op: "put", Key: "k", Reason: "shown", Err: errors.New("hidden")},
			http.StatusForbidden, "put refused: shown"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := core.HTTPStatus(tt.err); got != tt.status {
				t.Errorf("HTTPStatus = %d, want %d", got, tt.status)
			}
			if tt.err == nil {
				return
			}
			if got := core.ClientMessage(tt.err); got != tt.message {
				t.Errorf("ClientMessage = %q, want %q", got, tt.message)
			}
		})
	}
}

func TestRefusedErrorIsForbidden(t *testing.T) {
	var err error = fmt.Errorf("store: %w", &core.RefusedError{Op: "delete", Key: "k", Reason: "retention"})
	if !errors.Is(err, core.ErrForbidden) {
		t.Error("RefusedError is not ErrForbidden")
	}
	var refused *core.RefusedError
	if !errors.As(err, &refused) || refused.Reason != "retention" || refused.Key != "k" {
		t.Errorf("errors.As = %+v", refused)
	}
}

func TestRefusedErrorKeepsHookError(t *testing.T) {
	hookErr := fmt.Errorf("%w: quota", core.ErrTooLarge)
	err := fmt.Errorf("publish: %w", &core.RefusedError{Op: "put", Key: "k", Err: hookErr})
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"hook error", hookErr, true},
		{"its category", core.ErrTooLarge, true},
		{"not forbidden", core.ErrForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v) = %v, want %v", tt.target, got, tt.want)
			}
		})
	}
}

func TestHideKeys(t *testing.T) {
	prefixes := []string{"npm/packages/", "npm/uploads/"}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"package foo not found", "package foo not found"},
		{"put npm/packages/foo/-/foo-1.0.0.tgz: invalid argument", "put (storage object): invalid argument"},
		{`key "npm/uploads/abc.tgz" is bad`, `key "(storage object)" is bad`},
		{"npm/packages/a npm/packages/b", "(storage object) (storage object)"},
		{"at the end npm/uploads/x", "at the end (storage object)"},
		{"other/npm/packages/x", "other/(storage object)"},
		{"not a key: npm/other/x", "not a key: npm/other/x"},
	} {
		if got := core.HideKeys(tc.in, prefixes...); got != tc.want {
			t.Errorf("HideKeys(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := core.HideKeys("x npm/", ""); got != "x npm/" {
		t.Errorf("an empty prefix changed the message: %q", got)
	}
}
