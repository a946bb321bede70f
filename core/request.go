package core

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Protocol names one of the package ecosystems the registry serves. It is the
// first part of every scope and is passed to storage hooks.
type Protocol string

// The protocols smartregistry knows.
const (
	ProtocolOCI      Protocol = "oci"
	ProtocolNPM      Protocol = "npm"
	ProtocolMaven    Protocol = "maven"
	ProtocolCargo    Protocol = "cargo"
	ProtocolComposer Protocol = "composer"
	ProtocolPyPI     Protocol = "pypi"
	ProtocolRubyGems Protocol = "rubygems"
)

// Actor describes who sent a request. The registry fills in what it knows
// (IP, user agent) and the authenticated identity; it is passed on to storage
// hooks and auth providers.
type Actor struct {
	// UserID is the authenticated user, empty until the handler identified
	// the caller and for anonymous callers.
	UserID string
	// TokenID is the ID of the token the caller used (see [TokenID]), empty
	// for a password login or an anonymous caller.
	TokenID string
	// IP is the client's address as the connection shows it (ServeHTTP
	// does not trust X-Forwarded-For); empty through HandleRequest unless
	// the caller sets it.
	IP string
	// UserAgent is the client's User-Agent header.
	UserAgent string
	// OrgID is the organisation or tenant the caller acts for, copied from
	// [Principal.OrgID] when the caller is identified; empty when the auth
	// provider names none.
	OrgID string
	// Attributes are copied from [Principal.Attributes] when the caller is
	// identified; nil otherwise. Read-only.
	Attributes map[string]string
}

// RequestContext is one request as a protocol handler sees it. Body is
// streamed: nothing has been read from it before the handler runs.
type RequestContext struct {
	// Method is the HTTP method, upper case.
	Method string
	// Path is the request path, percent-encoded as the client sent it (so
	// "/@scope%2fpkg" keeps its escaped slash), without the query. Given
	// to Registry.HandleRequest it is the full path, base path included
	// ("/npm/left-pad"); a protocol handler sees it with the base path
	// removed ("/left-pad"), always starting with "/". A "?" in it is
	// refused: the query belongs in Query ([NewRequest] splits a target).
	Path string
	// Header holds the request headers.
	Header http.Header
	// Query holds the decoded query parameters.
	Query url.Values
	// Body is the request body; it may be nil for requests without one.
	Body io.Reader
	// ContentLength is the declared body length, or -1 when unknown.
	ContentLength int64
	// Actor is who sent the request, if known. Handlers fill in UserID,
	// TokenID, OrgID and Attributes once they identified the caller (see
	// [AuthManager.IdentifyRequest]); storage hooks see the same value.
	Actor *Actor
	// BaseURL is the public URL of the protocol's base path for this
	// request, without a trailing slash: the configured RegistryURL, or one
	// derived from the Host the client used.
	BaseURL string
}

// Response is what a handler answers. Body, when not nil, is closed by
// whoever writes the response out.
type Response struct {
	// Status is the HTTP status code; 0 means 200.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the response body, or nil for none. It is streamed to the
	// client and then closed.
	Body io.ReadCloser
}

// NewRequest returns a request for Registry.HandleRequest (or a protocol
// handler's Handle), as httptest.NewRequest does for an http.Handler.
// target is a path with an optional query, "/npm/left-pad?write=true", or
// an absolute URL whose scheme and host are ignored; the path keeps its
// percent-encoding and the query is split off into Query. An empty method
// means GET. A nil body is an empty one. ContentLength is the length of a
// *bytes.Buffer, *bytes.Reader or *strings.Reader body, 0 for nil and -1
// for any other. Header is empty and Actor a zero Actor; set them as the
// test needs. NewRequest panics when target is not a valid URL, which in a
// test is a bug in the test.
func NewRequest(method, target string, body io.Reader) *RequestContext {
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(target)
	if err != nil {
		panic("core.NewRequest: invalid target: " + err.Error())
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	req := &RequestContext{
		Method: method, Path: path, Header: make(http.Header), Query: u.Query(),
		Body: body, ContentLength: -1, Actor: &Actor{},
	}
	switch b := body.(type) {
	case nil:
		req.Body, req.ContentLength = http.NoBody, 0
	case *bytes.Buffer:
		req.ContentLength = int64(b.Len())
	case *bytes.Reader:
		req.ContentLength = int64(b.Len())
	case *strings.Reader:
		req.ContentLength = int64(b.Len())
	}
	return req
}

// ProtocolHandler is what every protocol package implements. The registry
// routes a request to it by base path and strips that base path from
// RequestContext.Path.
type ProtocolHandler interface {
	// Protocol names the protocol served.
	Protocol() Protocol
	// Handle serves one request. An error is turned into a response by
	// ErrorResponse; a handler must not write error bodies of its own for
	// categorised errors.
	Handle(ctx context.Context, req *RequestContext) (*Response, error)
	// ErrorResponse renders err in the protocol's own error body format, with
	// the status code its category maps to.
	ErrorResponse(ctx context.Context, req *RequestContext, err error) *Response
}

type ctxKey int

const (
	actorKey ctxKey = iota
	protocolKey
)

// WithActor returns a context carrying the request's actor, read by storage
// hooks.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// ActorFrom returns the actor stored in ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey).(*Actor)
	return a
}

// WithProtocol returns a context naming the protocol being served, read by
// storage hooks.
func WithProtocol(ctx context.Context, p Protocol) context.Context {
	return context.WithValue(ctx, protocolKey, p)
}

// ProtocolFrom returns the protocol stored in ctx, or "".
func ProtocolFrom(ctx context.Context) Protocol {
	p, _ := ctx.Value(protocolKey).(Protocol)
	return p
}
