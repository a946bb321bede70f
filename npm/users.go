package npm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// ping serves GET /-/ping ("npm ping").
func (h *Handler) ping(context.Context, *core.RequestContext, route.Params) (*core.Response, error) {
	return jsonOK(map[string]any{}), nil
}

// whoami serves GET /-/whoami: the user behind the credentials.
func (h *Handler) whoami(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	p, err := h.loggedIn(ctx, req)
	if err != nil {
		return nil, err
	}
	return jsonOK(map[string]string{"username": p.UserID}), nil
}

// login serves PUT /-/user/org.couchdb.user:<name>, what "npm login
// --auth-type=legacy" sends: the user's password is checked and a new
// npm-only token returned. Users are not created here.
func (h *Handler) login(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	b, err := readSmallBody(req, maxSmallBody)
	if err != nil {
		return nil, err
	}
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeBounded(b, &body); err != nil {
		return nil, err
	}
	user := p["user"]
	if body.Name != "" && body.Name != user {
		return nil, errorf(core.ErrInvalidArgument, "the body's name %q does not match the URL's %q", body.Name, user)
	}
	if body.Password == "" {
		return nil, errorf(core.ErrInvalidArgument, "a password is required")
	}
	principal, err := h.deps.Auth.Authenticate(ctx, user, body.Password)
	if err != nil {
		if errors.Is(err, core.ErrUnauthorized) {
			return nil, errorf(core.ErrUnauthorized, "incorrect username or password")
		}
		return nil, err
	}
	token, info, err := h.deps.Auth.CreateToken(ctx, principal, core.TokenOptions{
		Name: "npm login", Protocols: []core.Protocol{core.ProtocolNPM},
	})
	if err != nil {
		return nil, err
	}
	return core.JSONResponse(http.StatusCreated, map[string]any{
		"ok": true, "id": "org.couchdb.user:" + principal.UserID, "rev": "1-" + info.ID, "token": token,
	}), nil
}

// getUser serves GET /-/user/org.couchdb.user:<name> to a logged-in
// user: "npm owner add" reads the new owner's name there. Users live in
// the auth provider, which cannot be asked who exists, so any valid name
// is answered, without an email.
func (h *Handler) getUser(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	if _, err := h.loggedIn(ctx, req); err != nil {
		return nil, err
	}
	name := p["user"]
	if name == "" || len(name) > 214 || strings.ContainsAny(name, "/\\\x00") {
		return nil, errorf(core.ErrNotFound, "user %s not found", name)
	}
	return jsonOK(map[string]any{"_id": "org.couchdb.user:" + name, "name": name, "email": "",
		"type": "user", "roles": []string{}}), nil
}

// accessList serves GET /-/user/<name>/package and /-/org/<name>/package,
// "npm access list packages": the packages the caller may write
// ("read-write") or read ("read-only"), from the search index.
func (h *Handler) accessList(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	principal, err := h.loggedIn(ctx, req)
	if err != nil {
		return nil, err
	}
	entries, err := h.index.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		switch {
		case h.deps.Auth.Allowed(ctx, principal, core.NewScope(core.ProtocolNPM, "package", e.name, core.ActionWrite)):
			out[e.name] = "read-write"
		case h.deps.Auth.Allowed(ctx, principal, core.NewScope(core.ProtocolNPM, "package", e.name, core.ActionRead)):
			out[e.name] = "read-only"
		}
	}
	return jsonOK(out), nil
}

// tokenObject renders a token as "npm token list" reads it: key is the
// token's ID (what revoke takes), token a prefix to recognise it by.
func tokenObject(info core.TokenInfo) map[string]any {
	prefix := info.ID
	if len(prefix) > 6 {
		prefix = prefix[:6]
	}
	o := map[string]any{
		"key": info.ID, "token": prefix, "name": info.Name, "readonly": info.ReadOnly,
		"cidr_whitelist": nil, "created": info.CreatedAt.Format(time.RFC3339Nano),
		"updated": info.CreatedAt.Format(time.RFC3339Nano), "scopes": info.Scopes,
	}
	if !info.ExpiresAt.IsZero() {
		o["expires"] = info.ExpiresAt.Format(time.RFC3339Nano)
	}
	return o
}

// listTokens serves GET /-/npm/v1/tokens: the caller's tokens it may
// manage (all of them for a password login, see core.AuthManager.ListTokens),
// one page.
func (h *Handler) listTokens(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	p, err := h.loggedIn(ctx, req)
	if err != nil {
		return nil, err
	}
	list, err := h.deps.Auth.ListTokens(ctx, p)
	if err != nil {
		return nil, err
	}
	objects := make([]map[string]any, 0, len(list))
	for _, t := range list {
		objects = append(objects, tokenObject(t))
	}
	return jsonOK(map[string]any{"objects": objects, "total": len(objects), "urls": map[string]any{}}), nil
}

// createRequest is the body of POST /-/npm/v1/tokens.
type createRequest struct {
	Password string   `json:"password"`
	Name     string   `json:"name"`
	ReadOnly bool     `json:"readonly"`
	Packages []string `json:"packages"`
	Scopes   []string `json:"scopes"`
	// Permission is "read-only", "read-write" or "no-access" (granular
	// tokens).
	Permission  string   `json:"packages_and_scopes_permission"`
	ExpiresDays int      `json:"expires"`
	CIDR        []string `json:"cidr_whitelist"`
}

// createToken serves POST /-/npm/v1/tokens ("npm token create"): the user's
// password is required again. The token is limited to npm, to the packages
// and scopes named (all the user's otherwise) and, for "read-only", to
// reading.
func (h *Handler) createToken(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	p, err := h.loggedIn(ctx, req)
	if err != nil {
		return nil, err
	}
	b, err := readSmallBody(req, maxSmallBody)
	if err != nil {
		return nil, err
	}
	var body createRequest
	if err := decodeBounded(b, &body); err != nil {
		return nil, err
	}
	if len(body.CIDR) > 0 {
		return nil, errorf(core.ErrUnsupported, "CIDR-restricted tokens are not supported")
	}
	if _, err := h.deps.Auth.Authenticate(ctx, p.UserID, body.Password); err != nil {
		if errors.Is(err, core.ErrUnauthorized) {
			return nil, errorf(core.ErrUnauthorized, "incorrect password")
		}
		return nil, err
	}
	opts := core.TokenOptions{Name: body.Name, Protocols: []core.Protocol{core.ProtocolNPM},
		ReadOnly: body.ReadOnly || body.Permission == "read-only"}
	if opts.Name == "" {
		opts.Name = "npm token"
	}
	action := core.ActionAll
	if opts.ReadOnly {
		action = core.ActionRead
	}
	if body.Permission == "no-access" {
		opts.Scopes = []core.Scope{} // none at all, rather than the user's
	}
	for _, pkg := range body.Packages {
		if err := validateName(pkg); err != nil {
			return nil, err
		}
		opts.Scopes = append(opts.Scopes, core.NewScope(core.ProtocolNPM, "package", pkg, action))
	}
	for _, s := range body.Scopes {
		s = "@" + strings.TrimPrefix(s, "@")
		if !validNamePart(s[1:]) {
			return nil, errorf(core.ErrInvalidArgument, "invalid scope %q", s)
		}
		opts.Scopes = append(opts.Scopes, core.NewScope(core.ProtocolNPM, "package", s+"/*", action))
	}
	for i := range opts.Scopes {
		if opts.Scopes[i], err = core.ParseScope(opts.Scopes[i].String()); err != nil {
			return nil, err
		}
	}
	if body.ExpiresDays > 0 {
		opts.TTL = time.Duration(body.ExpiresDays) * 24 * time.Hour
	}
	token, info, err := h.deps.Auth.CreateToken(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	o := tokenObject(info)
	o["token"] = token
	return core.JSONResponse(http.StatusCreated, o), nil
}

// revokeToken serves DELETE /-/npm/v1/tokens/token/<key> ("npm token
// revoke") and DELETE /-/user/token/<key> ("npm logout"); key is a token ID
// from the list, or the token itself. A token may revoke itself and the
// tokens it covers, never others (a read-only token, or one limited to a
// package, must not take away the user's other tokens); a password login
// may revoke any (core.AuthManager.RevokeToken).
func (h *Handler) revokeToken(ctx context.Context, req *core.RequestContext, params route.Params) (*core.Response, error) {
	p, err := h.loggedIn(ctx, req)
	if err != nil {
		return nil, err
	}
	key := params["key"]
	err = h.deps.Auth.RevokeToken(ctx, p, key)
	if errors.Is(err, core.ErrNotFound) {
		err = h.deps.Auth.RevokeToken(ctx, p, core.TokenID(key))
	}
	if errors.Is(err, core.ErrNotFound) {
		return nil, errorf(core.ErrNotFound, "token %s not found", key)
	}
	if err != nil {
		return nil, err
	}
	return core.NewResponse(http.StatusNoContent), nil
}

// advisoriesBulk serves POST /-/npm/v1/security/advisories/bulk ("npm
// audit", "npm install"): this registry knows of no advisories.
func (h *Handler) advisoriesBulk(context.Context, *core.RequestContext, route.Params) (*core.Response, error) {
	return jsonOK(map[string]any{}), nil
}

// auditQuick serves the older audit endpoints with an empty report.
func (h *Handler) auditQuick(context.Context, *core.RequestContext, route.Params) (*core.Response, error) {
	return jsonOK(map[string]any{
		"actions": []any{}, "advisories": map[string]any{}, "muted": []any{},
		"metadata": map[string]any{
			"vulnerabilities": map[string]int{"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0},
			"dependencies":    0, "devDependencies": 0, "optionalDependencies": 0, "totalDependencies": 0,
		},
	}), nil
}
