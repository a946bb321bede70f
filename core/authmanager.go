package core

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// AuthOptions configure an [AuthManager].
type AuthOptions struct {
	// Provider authenticates and authorizes; required.
	Provider AuthProvider
	// AnonymousRead lists the protocols whose packages anyone may read.
	AnonymousRead []Protocol
	// JWTSecret signs OCI bearer tokens (HS256). Replicas that share a bucket
	// must share it; when empty a random secret is made per process. It must
	// be at least [MinJWTSecretLen] bytes: tokens are handed to anonymous
	// callers too, so a short secret could be found offline by brute force.
	JWTSecret []byte
	// JWTIssuer is the iss claim of issued bearer tokens; default
	// "smartregistry".
	JWTIssuer string
	// JWTTTL is the lifetime of issued bearer tokens; default 15 minutes.
	JWTTTL time.Duration
	// LoginThrottle slows down password guessing; the zero value turns it
	// off, DefaultLoginThrottle is the recommended setting.
	LoginThrottle LoginThrottle
}

// AuthManager is what protocol handlers use: it turns a request's
// credentials into a [Principal], decides authorization (anonymous read
// included), and issues and checks OCI bearer JWTs. It delegates everything
// else to the [AuthProvider].
type AuthManager struct {
	provider  AuthProvider
	anonymous []Protocol
	jwtSecret []byte
	jwtIssuer string
	jwtTTL    time.Duration
	throttle  *throttle // nil when off
}

// MinJWTSecretLen is the shortest JWTSecret accepted, in bytes: the size of
// the HS256 key.
const MinJWTSecretLen = 32

// NewAuthManager returns a manager over opts.Provider.
func NewAuthManager(opts AuthOptions) (*AuthManager, error) {
	if opts.Provider == nil {
		return nil, errors.New("auth: a provider is required")
	}
	if n := len(opts.JWTSecret); n > 0 && n < MinJWTSecretLen {
		return nil, fmt.Errorf("auth: JWTSecret is %d bytes, at least %d are required", n, MinJWTSecretLen)
	}
	m := &AuthManager{
		provider:  opts.Provider,
		anonymous: slices.Clone(opts.AnonymousRead),
		jwtSecret: slices.Clone(opts.JWTSecret),
		jwtIssuer: opts.JWTIssuer,
		jwtTTL:    opts.JWTTTL,
	}
	if len(m.jwtSecret) == 0 {
		m.jwtSecret = make([]byte, 32)
		if _, err := rand.Read(m.jwtSecret); err != nil {
			return nil, fmt.Errorf("auth: make JWT secret: %w", err)
		}
	}
	if m.jwtIssuer == "" {
		m.jwtIssuer = "smartregistry"
	}
	if m.jwtTTL <= 0 {
		m.jwtTTL = 15 * time.Minute
	}
	var err error
	if m.throttle, err = newThrottle(opts.LoginThrottle); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return m, nil
}

// Provider returns the underlying provider, for token management endpoints.
func (m *AuthManager) Provider() AuthProvider { return m.provider }

// AnonymousRead reports whether anyone may read the protocol's packages.
func (m *AuthManager) AnonymousRead(p Protocol) bool { return slices.Contains(m.anonymous, p) }

// Identify authenticates the request's credentials for protocol. It returns
// nil and no error when the request carries none. Credentials that are
// present but wrong are [ErrUnauthorized]. A Bearer value that is a JWT is
// checked as an OCI bearer token issued by [AuthManager.IssueBearer] for
// audience; pass "" when the protocol issues none.
func (m *AuthManager) Identify(ctx context.Context, protocol Protocol, h http.Header, audience string) (*Principal, error) {
	c := ParseCredentials(h)
	switch c.Kind {
	case CredentialNone:
		return nil, nil
	case CredentialBearer:
		if audience != "" && strings.Count(c.Token, ".") == 2 {
			return m.ParseBearer(c.Token, audience)
		}
		return m.provider.ValidateToken(ctx, c.Token, protocol)
	case CredentialRaw:
		return m.provider.ValidateToken(ctx, c.Token, protocol)
	default:
		return m.Login(ctx, protocol, c.Username, c.Password)
	}
}

// Login checks Basic credentials: the password may be a token (the user name
// is then ignored, as twine's "__token__" is) or the user's password.
func (m *AuthManager) Login(ctx context.Context, protocol Protocol, username, password string) (*Principal, error) {
	if password == "" {
		return nil, fmt.Errorf("%w: empty password", ErrUnauthorized)
	}
	p, err := m.provider.ValidateToken(ctx, password, protocol)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, ErrUnauthorized) {
		return nil, err
	}
	return m.Authenticate(ctx, username, password)
}

// Authenticate checks a user's password through the provider, throttled
// by AuthOptions.LoginThrottle: while the user name or the caller's IP
// ([ActorFrom]) is locked out after failed checks, the attempt is
// [ErrTooManyRequests] without a password check, unless the provider
// ([RecentLogins]) recognises the password as one that recently checked
// out. Endpoints that take a password (npm login, token creation) must use
// this rather than the provider's Authenticate.
func (m *AuthManager) Authenticate(ctx context.Context, username, password string) (*Principal, error) {
	if m.throttle == nil {
		return m.provider.Authenticate(ctx, username, password)
	}
	if rl, ok := m.provider.(RecentLogins); ok {
		if p, ok := rl.AuthenticateRecent(ctx, username, password); ok {
			return p, nil
		}
	}
	var ip string
	if a := ActorFrom(ctx); a != nil {
		ip = a.IP
	}
	if err := m.throttle.check(ctx, username, ip); err != nil {
		return nil, err
	}
	p, err := m.provider.Authenticate(ctx, username, password)
	switch {
	case err == nil:
		if terr := m.throttle.succeed(ctx, username); terr != nil {
			return nil, terr
		}
	case errors.Is(err, ErrUnauthorized):
		if terr := m.throttle.fail(ctx, username, ip); terr != nil {
			return nil, terr
		}
	}
	return p, err
}

// Authorize returns nil when p may perform want. Otherwise it returns
// [ErrUnauthorized] for an anonymous caller (so the client is asked to log
// in) and [ErrForbidden] for an authenticated one. A read that anonymous
// callers may do is allowed to everyone: credentials never give less than
// none.
func (m *AuthManager) Authorize(ctx context.Context, p *Principal, want Scope) error {
	if want.Action == ActionRead && m.AnonymousRead(Protocol(want.Protocol)) {
		return nil
	}
	if p == nil {
		return fmt.Errorf("%w: %s needs credentials", ErrUnauthorized, want)
	}
	if p.ReadOnly && want.Action != ActionRead {
		return fmt.Errorf("%w: the token is read-only", ErrForbidden)
	}
	if len(p.Protocols) > 0 && !slices.Contains(p.Protocols, Protocol(want.Protocol)) {
		return fmt.Errorf("%w: the token is not valid for %s", ErrForbidden, want.Protocol)
	}
	var ok bool
	if p.bearer {
		ok = AnyAllows(p.Scopes, want)
	} else {
		var err error
		if ok, err = m.provider.Authorize(ctx, p, want); err != nil {
			return err
		}
	}
	switch {
	case ok:
		return nil
	case p.Anonymous():
		return fmt.Errorf("%w: %s needs credentials", ErrUnauthorized, want)
	default:
		return fmt.Errorf("%w: %s is not granted", ErrForbidden, want)
	}
}

// MayWrite refuses, before any work, a caller who can write nothing in
// protocol whatever the package: nobody, a read-only token, a token for
// other protocols. Handlers call it before reading a large request body;
// which packages p may write is still Authorize's to say.
func (m *AuthManager) MayWrite(p *Principal, protocol Protocol) error {
	switch {
	case p == nil || p.Anonymous():
		return fmt.Errorf("%w: writing needs credentials", ErrUnauthorized)
	case p.ReadOnly:
		return fmt.Errorf("%w: the token is read-only", ErrForbidden)
	case len(p.Protocols) > 0 && !slices.Contains(p.Protocols, protocol):
		return fmt.Errorf("%w: the token is not valid for %s", ErrForbidden, protocol)
	}
	return nil
}

// CreateToken issues a token for the authenticated caller p, never with
// more than p holds: a token made with a read-only token is read-only, one
// made with a protocol-restricted token is restricted to (a subset of) its
// protocols, one made with a scoped token keeps only scopes it covers, and
// one made with an expiring token expires no later. A password login holds
// all its user's scopes. Anonymous callers and OCI bearer tokens are
// [ErrUnauthorized]. Token endpoints (npm token create, login) should use
// this rather than the provider's CreateToken, which trusts its caller.
func (m *AuthManager) CreateToken(ctx context.Context, p *Principal, opts TokenOptions) (string, TokenInfo, error) {
	if p.Anonymous() || p.bearer {
		return "", TokenInfo{}, fmt.Errorf("%w: creating a token needs a password or token login", ErrUnauthorized)
	}
	opts.ReadOnly = opts.ReadOnly || p.ReadOnly
	if len(p.Protocols) > 0 {
		if len(opts.Protocols) == 0 {
			opts.Protocols = slices.Clone(p.Protocols)
		} else {
			opts.Protocols = slices.DeleteFunc(slices.Clone(opts.Protocols), func(q Protocol) bool {
				return !slices.Contains(p.Protocols, q)
			})
			if len(opts.Protocols) == 0 {
				return "", TokenInfo{}, fmt.Errorf("%w: the token is not valid for the requested protocols", ErrForbidden)
			}
		}
	}
	if p.TokenID != "" {
		if opts.Scopes == nil {
			opts.Scopes = slices.Clone(p.Scopes)
		} else {
			opts.Scopes = narrowScopes(p.Scopes, opts.Scopes)
		}
	}
	if !p.ExpiresAt.IsZero() {
		left := time.Until(p.ExpiresAt)
		if left <= 0 {
			return "", TokenInfo{}, fmt.Errorf("%w: the token has expired", ErrUnauthorized)
		}
		if opts.TTL <= 0 || opts.TTL > left {
			opts.TTL = left
		}
	}
	opts.OrgID, opts.Attributes = p.OrgID, p.Attributes
	return m.provider.CreateToken(ctx, p.UserID, opts)
}

// Allowed is Authorize as a boolean, for filtering (e.g. which requested OCI
// scopes to grant). Infrastructure errors count as not allowed.
func (m *AuthManager) Allowed(ctx context.Context, p *Principal, want Scope) bool {
	return m.Authorize(ctx, p, want) == nil
}

// IdentifyRequest is [AuthManager.Identify] for a request; it also records
// the caller (user, token, org and attributes) in req.Actor, so storage
// hooks and the request log see who acted.
func (m *AuthManager) IdentifyRequest(ctx context.Context, protocol Protocol, req *RequestContext, audience string) (*Principal, error) {
	p, err := m.Identify(ctx, protocol, req.Header, audience)
	if err == nil && p != nil && req.Actor != nil {
		req.Actor.UserID = p.UserID
		req.Actor.TokenID = p.TokenID
		req.Actor.OrgID = p.OrgID
		req.Actor.Attributes = p.Attributes
	}
	return p, err
}

// ListTokens lists the tokens of p's user that p may manage (see
// [AuthManager.RevokeToken]): all of them for a password login, otherwise
// the token itself and those whose permissions it covers. Anonymous
// callers and OCI bearer tokens are [ErrUnauthorized].
func (m *AuthManager) ListTokens(ctx context.Context, p *Principal) ([]TokenInfo, error) {
	if p.Anonymous() || p.bearer {
		return nil, fmt.Errorf("%w: listing tokens needs a password or token login", ErrUnauthorized)
	}
	list, err := m.provider.ListTokens(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(t TokenInfo) bool { return !p.mayManage(t) }), nil
}

// RevokeToken revokes the token with the given ID of p's user, if p may: a
// password login may revoke any of its user's tokens, a token itself and
// the tokens whose permissions it covers (their scopes, protocols and
// write access all within its own), so that a token limited to one package
// cannot take away its user's others. A token p may not manage is
// [ErrForbidden]; an unknown ID is [ErrNotFound].
func (m *AuthManager) RevokeToken(ctx context.Context, p *Principal, id string) error {
	if p.Anonymous() || p.bearer {
		return fmt.Errorf("%w: revoking a token needs a password or token login", ErrUnauthorized)
	}
	if p.TokenID != "" && id != p.TokenID {
		list, err := m.provider.ListTokens(ctx, p.UserID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(list, func(t TokenInfo) bool { return t.ID == id })
		if i < 0 {
			return fmt.Errorf("%w: token %s", ErrNotFound, id)
		}
		if !p.mayManage(list[i]) {
			return fmt.Errorf("%w: the token does not cover token %s", ErrForbidden, id)
		}
	}
	return m.provider.RevokeToken(ctx, p.UserID, id)
}

// mayManage reports whether p may see and revoke token t of its user: a
// password login any, a token itself and the tokens it covers.
func (p *Principal) mayManage(t TokenInfo) bool {
	if p.TokenID == "" || t.ID == p.TokenID {
		return true
	}
	if p.ReadOnly && !t.ReadOnly {
		return false
	}
	if len(p.Protocols) > 0 {
		if len(t.Protocols) == 0 {
			return false
		}
		for _, q := range t.Protocols {
			if !slices.Contains(p.Protocols, q) {
				return false
			}
		}
	}
	scopes, err := ParseScopes(t.Scopes)
	if err != nil {
		return false
	}
	for _, s := range scopes {
		if !slices.ContainsFunc(p.Scopes, func(o Scope) bool { return o.covers(s) }) {
			return false
		}
	}
	return true
}
