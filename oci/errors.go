package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// Error is one error code of the distribution spec. Each sentinel below
// unwraps to the core category that decides its HTTP status; handlers wrap
// them with detail: fmt.Errorf("%w: ...", ErrBlobUnknown).
type Error struct {
	// Code is the spec's code, e.g. "BLOB_UNKNOWN".
	Code string
	// Message is the spec's message for the code.
	Message string
	// Status overrides the category's status code when not 0.
	Status   int
	category error
}

// Error returns the spec's message, in lower case.
func (e *Error) Error() string { return strings.ToLower(e.Message) }

// Unwrap returns the error's core category.
func (e *Error) Unwrap() error { return e.category }

// The error codes of the distribution spec.
var (
	ErrBlobUnknown         = &Error{Code: "BLOB_UNKNOWN", Message: "blob unknown to registry", category: core.ErrNotFound}
	ErrBlobUploadInvalid   = &Error{Code: "BLOB_UPLOAD_INVALID", Message: "blob upload invalid", category: core.ErrInvalidArgument}
	ErrBlobUploadUnknown   = &Error{Code: "BLOB_UPLOAD_UNKNOWN", Message: "blob upload unknown to registry", category: core.ErrNotFound}
	ErrDigestInvalid       = &Error{Code: "DIGEST_INVALID", Message: "provided digest did not match uploaded content", category: core.ErrInvalidArgument}
	ErrManifestBlobUnknown = &Error{Code: "MANIFEST_BLOB_UNKNOWN", Message: "manifest references a manifest or blob unknown to registry", category: core.ErrInvalidArgument}
	ErrManifestInvalid     = &Error{Code: "MANIFEST_INVALID", Message: "manifest invalid", category: core.ErrInvalidArgument}
	ErrManifestUnknown     = &Error{Code: "MANIFEST_UNKNOWN", Message: "manifest unknown to registry", category: core.ErrNotFound}
	ErrNameInvalid         = &Error{Code: "NAME_INVALID", Message: "invalid repository name", category: core.ErrInvalidArgument}
	ErrNameUnknown         = &Error{Code: "NAME_UNKNOWN", Message: "repository name not known to registry", category: core.ErrNotFound}
	ErrSizeInvalid         = &Error{Code: "SIZE_INVALID", Message: "provided length did not match content length", category: core.ErrInvalidArgument}
	ErrUnsupported         = &Error{Code: "UNSUPPORTED", Message: "the operation is unsupported", category: core.ErrMethodNotAllowed}
	// ErrRangeInvalid is an upload chunk that does not continue the upload.
	ErrRangeInvalid = &Error{Code: "BLOB_UPLOAD_INVALID", Message: "requested range not satisfiable", category: core.ErrRangeNotSatisfiable}
	// ErrManifestTooLarge is a manifest over Config.MaxManifestSize.
	ErrManifestTooLarge = &Error{Code: "MANIFEST_INVALID", Message: "manifest too large", category: core.ErrTooLarge}
	// ErrReferenceInvalid is a manifest reference that is neither a tag nor
	// a digest.
	ErrReferenceInvalid = &Error{Code: "MANIFEST_INVALID", Message: "invalid tag or digest", category: core.ErrInvalidArgument}
)

// codeByCategory names the spec code for a bare core category.
var codeByCategory = []struct {
	err  error
	code string
}{
	{core.ErrUnauthorized, "UNAUTHORIZED"},
	{core.ErrForbidden, "DENIED"},
	{core.ErrNotFound, "NAME_UNKNOWN"},
	{core.ErrMethodNotAllowed, "UNSUPPORTED"},
	{core.ErrUnsupported, "UNSUPPORTED"},
	{core.ErrRangeNotSatisfiable, "BLOB_UPLOAD_INVALID"},
	{core.ErrTooLarge, "SIZE_INVALID"},
	{core.ErrConflict, "DENIED"},
	{core.ErrPreconditionFailed, "DENIED"},
	{core.ErrTooManyRequests, "TOOMANYREQUESTS"},
}

// challengeError is an authentication failure that asks the client to get
// a token for scope (empty: no particular scope).
type challengeError struct {
	err   error
	scope string
	// insufficient marks a valid token that lacks the scope.
	insufficient bool
}

func (e *challengeError) Error() string { return e.err.Error() }
func (e *challengeError) Unwrap() error { return e.err }

// rangeError is a Range header that a blob of size bytes cannot satisfy;
// its 416 names the size in Content-Range: bytes */<size>.
type rangeError struct {
	err  error
	size int64
}

func (e *rangeError) Error() string { return e.err.Error() }
func (e *rangeError) Unwrap() error { return e.err }

// errorBody is the spec's error response body.
type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// ErrorResponse renders err as the spec's {"errors":[{code,message,detail}]}
// body with the status its category maps to; an authentication failure
// carries the WWW-Authenticate challenge that starts the token flow.
func (h *Handler) ErrorResponse(ctx context.Context, req *core.RequestContext, err error) *core.Response {
	status := core.HTTPStatus(err)
	entry := errorEntry{Code: "UNKNOWN", Message: core.HideKeys(core.ClientMessage(err), keyPrefixes...)}
	var oe *Error
	if errors.As(err, &oe) {
		entry.Code, entry.Message = oe.Code, oe.Message
		if oe.Status != 0 {
			status = oe.Status
		}
		if d := strings.TrimPrefix(err.Error(), oe.Error()+": "); d != err.Error() && status < 500 {
			entry.Detail = core.HideKeys(d, keyPrefixes...)
		}
	} else if refused := (*core.RefusedError)(nil); errors.As(err, &refused) && status < 500 {
		// A storage hook's refusal (a quota, a policy) is DENIED whatever
		// status its category chose; SIZE_INVALID would misdescribe it.
		entry.Code = "DENIED"
	} else if status < 500 {
		for _, c := range codeByCategory {
			if errors.Is(err, c.err) {
				entry.Code = c.code
				break
			}
		}
	}
	resp := core.JSONResponse(status, errorBody{Errors: []errorEntry{entry}})
	resp.Header.Set("Docker-Distribution-API-Version", apiVersion)
	var ce *challengeError
	if errors.As(err, &ce) && status == http.StatusUnauthorized {
		resp.Header.Set("WWW-Authenticate", h.challenge(req, ce))
	}
	var re *rangeError
	if errors.As(err, &re) && status == http.StatusRequestedRangeNotSatisfiable {
		resp.Header.Set("Content-Range", fmt.Sprintf("bytes */%d", re.size))
	}
	return resp
}

// challenge builds the Bearer challenge for the token endpoint of this
// registry.
func (h *Handler) challenge(req *core.RequestContext, ce *challengeError) string {
	c := fmt.Sprintf("Bearer realm=%q,service=%q", req.BaseURL+"/token", h.cfg.Service)
	if ce.scope != "" {
		c += fmt.Sprintf(",scope=%q", ce.scope)
	}
	if ce.insufficient {
		c += `,error="insufficient_scope"`
	}
	return c
}
