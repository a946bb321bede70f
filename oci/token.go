package oci

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// tokenResponse is the token endpoint's answer, in the shape Docker's token
// spec and OAuth2 clients both read.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// maxTokenForm bounds the body of an OAuth2 POST to the token endpoint.
const maxTokenForm = 64 << 10

// maxTokenScopes bounds the distinct repository scopes one token request
// may ask for (clients ask for a handful), so that an anonymous request
// cannot make the endpoint spend seconds and megabytes on one token.
const maxTokenScopes = 256

// actionByTokenAction maps the token flow's actions to scope actions.
var actionByTokenAction = map[string]core.Action{
	"pull": core.ActionRead, "push": core.ActionWrite, "delete": core.ActionDelete,
}

// token is the realm of the Bearer challenge. It accepts HTTP Basic (user
// and password, or user and token), a bearer/opaque token, or nothing
// (anonymous), and answers a JWT that grants the subset of the requested
// repository scopes the caller holds and records all of them (see
// [core.Principal.AskedFor]), so that an endpoint can tell a scope the
// token was refused (403, or a fallback) from one it never asked for (a
// 401 challenge naming it). A POST is the OAuth2 password or
// refresh-token grant of containerd and Docker.
func (h *Handler) token(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	q := req.Query
	var p *core.Principal
	var err error
	if req.Method == http.MethodPost {
		if q, p, err = h.tokenForm(ctx, req); err != nil {
			return nil, err
		}
	} else if p, err = h.identify(ctx, req); err != nil {
		return nil, err
	}
	if svc := q.Get("service"); svc != "" && svc != h.cfg.Service {
		return nil, fmt.Errorf("%w: unknown service %q", core.ErrInvalidArgument, svc)
	}
	var requested, granted []core.Scope
	for _, raw := range q["scope"] {
		for s := range strings.FieldsSeq(raw) {
			if s == catalogScope {
				granted = append(granted, catalogGrants(p)...)
				continue
			}
			for _, sc := range requestedScopes(s) {
				if slices.Contains(requested, sc) {
					continue
				}
				if len(requested) == maxTokenScopes {
					return nil, fmt.Errorf("%w: a token request may ask for at most %d scopes", core.ErrInvalidArgument, maxTokenScopes)
				}
				requested = append(requested, sc)
				if h.deps.Auth.Allowed(ctx, p, sc) {
					granted = append(granted, sc)
				}
			}
		}
	}
	tok, ttl, issued, err := h.deps.Auth.IssueBearerRequest(p, requested, granted, h.cfg.Service)
	if err != nil {
		return nil, err
	}
	resp := core.JSONResponse(http.StatusOK, tokenResponse{
		Token: tok, AccessToken: tok, ExpiresIn: int(ttl / time.Second), IssuedAt: issued.Format(time.RFC3339),
	})
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// catalogScope is what a client asks the token endpoint for to list the
// catalog (crane catalog does).
const catalogScope = "registry:catalog:*"

// catalogGrants answers a token request for [catalogScope]: the token then
// carries, for each of the caller's own scopes on OCI repositories
// (patterns included), a listing scope (see listScope), so GET
// /v2/_catalog with it lists what the caller may pull, as it does with
// Basic credentials. Listing scopes grant no pull: a principal's scopes
// may say more than its provider allows (a stored token keeps the scopes
// its user held when it was made), and only scopes granted one by one
// after Authorize may pull. A provider that does not put scopes on its
// principals yields none, and such a token lists nothing.
func catalogGrants(p *core.Principal) []core.Scope {
	if p.Anonymous() || (len(p.Protocols) > 0 && !slices.Contains(p.Protocols, core.ProtocolOCI)) {
		return nil
	}
	var out []core.Scope
	for _, s := range p.Scopes {
		if (s.Protocol != "*" && s.Protocol != string(core.ProtocolOCI)) || (s.Type != "*" && s.Type != "repository") {
			continue
		}
		sc, err := core.ParseScope(listScope(s.Name).String())
		if err == nil && !slices.ContainsFunc(out, func(o core.Scope) bool { return o.String() == sc.String() }) {
			out = append(out, sc)
		}
	}
	return out
}

// listScope is the scope of a catalog token that lets it list repository
// name (possibly a pattern) in the catalog, and nothing else.
func listScope(name string) core.Scope {
	return core.NewScope(core.ProtocolOCI, "catalog", name, core.ActionRead)
}

// requestedScopes returns the scopes one "repository:<name>:<actions>" of
// a token request asks for; "*" asks for every action. Anything else asks
// for nothing.
func requestedScopes(requested string) []core.Scope {
	rs, ok := parseRepoScope(requested)
	if !ok {
		return nil
	}
	var out []core.Scope
	for _, a := range rs.Actions {
		actions := []core.Action{actionByTokenAction[a]}
		if a == "*" {
			actions = []core.Action{core.ActionRead, core.ActionWrite, core.ActionDelete}
		}
		for _, act := range actions {
			if act != "" {
				out = append(out, ociScope(rs.Name, act))
			}
		}
	}
	return out
}

// tokenForm reads an OAuth2 token request (grant_type password or
// refresh_token) and authenticates it.
func (h *Handler) tokenForm(ctx context.Context, req *core.RequestContext) (url.Values, *core.Principal, error) {
	b, err := io.ReadAll(io.LimitReader(req.Body, maxTokenForm+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read token request: %w", err)
	}
	if len(b) > maxTokenForm {
		return nil, nil, fmt.Errorf("%w: token request body", core.ErrTooLarge)
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: token request: %v", core.ErrInvalidArgument, err)
	}
	var p *core.Principal
	switch form.Get("grant_type") {
	case "password":
		p, err = h.deps.Auth.Login(ctx, core.ProtocolOCI, form.Get("username"), form.Get("password"))
	case "refresh_token":
		p, err = h.deps.Auth.Login(ctx, core.ProtocolOCI, "", form.Get("refresh_token"))
	default:
		p, err = h.identify(ctx, req)
	}
	if err != nil {
		return nil, nil, &challengeError{err: err}
	}
	return form, p, nil
}
