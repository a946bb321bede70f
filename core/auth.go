package core

import (
	"context"
	"time"
)

// Principal is an authenticated caller: a user who logged in with a password,
// or a token (opaque or an OCI bearer JWT) acting for a user.
type Principal struct {
	// UserID names the user; empty for an anonymous OCI bearer token.
	UserID string
	// TokenID identifies the token used, empty for a password login.
	TokenID string
	// Scopes are the permissions held.
	Scopes []Scope
	// ReadOnly principals are refused every write and delete, whatever their
	// scopes say.
	ReadOnly bool
	// Protocols, when not empty, restricts a token to these protocols.
	Protocols []Protocol
	// ExpiresAt is when the credential stops being valid (zero: never).
	ExpiresAt time.Time
	// Requested, for a principal read from an OCI bearer JWT, are the
	// scopes its token request asked for, granted or not (the JWT's "req"
	// claim); nil otherwise. See [Principal.AskedFor].
	Requested []Scope
	// OrgID is the organisation or tenant the principal acts for, as the
	// [AuthProvider] says; empty when it has none. The registry copies it
	// to [Actor.OrgID], which storage hooks (per-tenant quotas) and logs
	// see, and OCI bearer tokens carry it.
	OrgID string
	// Attributes are further facts the provider knows about the principal
	// (team, plan, ...), copied to [Actor.Attributes] and carried by OCI
	// bearer tokens. Treat it as read-only once returned.
	Attributes map[string]string

	// bearer marks a principal read from an OCI bearer JWT: its Scopes are
	// exactly what was granted and the provider is not asked again.
	bearer bool
}

// Anonymous reports whether p stands for no authenticated user: nil, or a
// bearer token issued to an anonymous caller.
func (p *Principal) Anonymous() bool { return p == nil || p.UserID == "" }

// TokenOptions describe a token to create.
type TokenOptions struct {
	// Name is a free-form label shown when tokens are listed.
	Name string
	// Protocols restricts the token to these protocols; empty means all.
	Protocols []Protocol
	// Scopes are the token's permissions; nil means the user's own.
	Scopes []Scope
	// ReadOnly tokens can never write or delete.
	ReadOnly bool
	// TTL is the token's lifetime; 0 means it does not expire.
	TTL time.Duration
	// OrgID and Attributes are returned with the token's principal by
	// providers that keep no org of their own ([NewAuthProvider]);
	// [AuthManager.CreateToken] sets them to its caller's. The
	// [DefaultAuthProvider] takes the org from its configuration instead.
	OrgID string
	// Attributes: see OrgID.
	Attributes map[string]string
}

// TokenInfo describes a stored token. The token itself is never stored, only
// its SHA-256 hash; ID is derived from that hash (see [TokenID]).
type TokenInfo struct {
	// ID is the first 16 hex characters of the token's SHA-256 hash.
	ID string `json:"id"`
	// UserID is the user the token acts for.
	UserID string `json:"userId"`
	// Name is the label given at creation ("static" for configured tokens).
	Name string `json:"name,omitempty"`
	// Protocols restricts the token to these protocols; empty means all.
	Protocols []Protocol `json:"protocols,omitempty"`
	// Scopes are the token's permissions as scope strings.
	Scopes []string `json:"scopes"`
	// ReadOnly tokens can never write or delete.
	ReadOnly bool `json:"readOnly,omitempty"`
	// CreatedAt is when the token was issued (zero for static tokens).
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when the token stops being valid; zero means never.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// AuthProvider authenticates callers and decides what they may do. Plug in
// your own (LDAP, OIDC, org/team RBAC) through Config.AuthProvider;
// [DefaultAuthProvider] is used otherwise.
//
// Errors: wrong credentials, unknown, revoked or expired tokens are
// [ErrUnauthorized]; anything else is an infrastructure error.
type AuthProvider interface {
	// Authenticate checks a user name and password.
	Authenticate(ctx context.Context, username, password string) (*Principal, error)
	// ValidateToken checks an opaque token; with protocol not empty, a token
	// restricted to other protocols is refused.
	ValidateToken(ctx context.Context, token string, protocol Protocol) (*Principal, error)
	// CreateToken issues a new token for a user and returns it with its
	// description. The token is shown only this once.
	CreateToken(ctx context.Context, userID string, opts TokenOptions) (string, TokenInfo, error)
	// RevokeToken revokes the user's token with the given ID; an unknown ID
	// is [ErrNotFound].
	RevokeToken(ctx context.Context, userID, tokenID string) error
	// ListTokens lists a user's tokens.
	ListTokens(ctx context.Context, userID string) ([]TokenInfo, error)
	// Authorize reports whether p may perform want (a concrete scope).
	Authorize(ctx context.Context, p *Principal, want Scope) (bool, error)
}
