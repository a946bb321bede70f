package core

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Authorizer is the part of an [AuthProvider] that is yours to write when
// you plug in your own users (LDAP, OIDC, an org/team RBAC table): who a
// user is and what they may do. [NewAuthProvider] adds the token half
// (create, validate, revoke, list) from the built-in token store.
type Authorizer interface {
	// Authenticate checks a user name and password; wrong credentials are
	// [ErrUnauthorized]. The principal may name an OrgID and Attributes,
	// which tokens the user creates keep.
	Authenticate(ctx context.Context, username, password string) (*Principal, error)
	// Authorize reports whether p may perform want (a concrete scope). p
	// is a password login, or a token whose own scopes already allow want.
	Authorize(ctx context.Context, p *Principal, want Scope) (bool, error)
}

// TokenStoreOptions configure the built-in token store of
// [NewAuthProvider].
type TokenStoreOptions struct {
	// Storage, when set, keeps tokens (as SHA-256 hashes) under
	// StoragePrefix, so they survive restarts and are shared by replicas;
	// otherwise they live in memory. Build it over the registry's backend
	// with [NewStorage] (hooks do not need to see token writes).
	Storage *Storage
	// StoragePrefix is where tokens are kept in Storage; default
	// "auth/tokens/".
	StoragePrefix string
	// TokenCacheTTL is how long a token read from Storage is trusted
	// without reading it again; 0 means 10 seconds, negative turns the
	// cache off.
	TokenCacheTTL time.Duration
}

// NewAuthProvider returns an [AuthProvider] that authenticates and
// authorizes with a and keeps tokens in the built-in store:
//
//   - CreateToken issues a token to any user ID with the requested scopes
//     (nil: all) and, when made through [AuthManager.CreateToken], the
//     creator's OrgID and Attributes;
//   - ValidateToken returns that principal, so hooks and logs see the org;
//   - Authorize allows a token only what both its own scopes and
//     a.Authorize allow, so a token never outlives a narrowed permission.
//
// To change only part of the built-in provider instead (say, Authorize),
// embed a *[DefaultAuthProvider] in your own type and override that method.
func NewAuthProvider(a Authorizer, opts TokenStoreOptions) (AuthProvider, error) {
	if a == nil {
		return nil, errors.New("auth: an Authorizer is required")
	}
	store, err := newTokenStore(opts)
	if err != nil {
		return nil, err
	}
	return &tokenAuthProvider{authorizer: a, tokens: store}, nil
}

// tokenAuthProvider is an Authorizer with the built-in tokens.
type tokenAuthProvider struct {
	authorizer Authorizer
	tokens     tokenStore
}

func (p *tokenAuthProvider) Authenticate(ctx context.Context, username, password string) (*Principal, error) {
	return p.authorizer.Authenticate(ctx, username, password)
}

func (p *tokenAuthProvider) ValidateToken(ctx context.Context, token string, protocol Protocol) (*Principal, error) {
	return lookupToken(ctx, p.tokens, token, protocol)
}

func (p *tokenAuthProvider) CreateToken(ctx context.Context, userID string, opts TokenOptions) (string, TokenInfo, error) {
	if userID == "" {
		return "", TokenInfo{}, fmt.Errorf("%w: a token needs a user", ErrInvalidArgument)
	}
	scopes := allScopes
	if opts.Scopes != nil {
		scopes = opts.Scopes
	}
	return issueToken(ctx, p.tokens, userID, scopes, opts)
}

func (p *tokenAuthProvider) RevokeToken(ctx context.Context, userID, tokenID string) error {
	return p.tokens.revoke(ctx, userID, tokenID)
}

func (p *tokenAuthProvider) ListTokens(ctx context.Context, userID string) ([]TokenInfo, error) {
	return listTokens(ctx, p.tokens, userID)
}

func (p *tokenAuthProvider) Authorize(ctx context.Context, pr *Principal, want Scope) (bool, error) {
	if pr == nil || (pr.TokenID != "" && !AnyAllows(pr.Scopes, want)) {
		return false, nil
	}
	return p.authorizer.Authorize(ctx, pr, want)
}

// newTokenStore returns the memory store, or the one in opts.Storage.
func newTokenStore(opts TokenStoreOptions) (tokenStore, error) {
	if opts.Storage == nil {
		return &memoryTokens{byHash: map[string]tokenRecord{}}, nil
	}
	prefix := opts.StoragePrefix
	if prefix == "" {
		prefix = "auth/tokens/"
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if err := ValidatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("auth storage prefix: %w", err)
	}
	ttl := opts.TokenCacheTTL
	if ttl == 0 {
		ttl = defaultTokenCacheTTL
	}
	return &storedTokens{storage: opts.Storage, prefix: prefix, cache: newTokenCache(ttl)}, nil
}

// lookupToken finds token in store and checks that it is still valid, and
// valid for protocol when that is not empty.
func lookupToken(ctx context.Context, store tokenStore, token string, protocol Protocol) (*Principal, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrUnauthorized)
	}
	h := hashToken(token)
	rec, err := store.get(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown or revoked token", ErrUnauthorized)
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(h)) != 1 {
		return nil, fmt.Errorf("%w: unknown or revoked token", ErrUnauthorized)
	}
	if !rec.ExpiresAt.IsZero() && time.Now().After(rec.ExpiresAt) {
		return nil, fmt.Errorf("%w: token expired", ErrUnauthorized)
	}
	if protocol != "" && len(rec.Protocols) > 0 && !slices.Contains(rec.Protocols, protocol) {
		return nil, fmt.Errorf("%w: token is not valid for %s", ErrUnauthorized, protocol)
	}
	scopes, err := ParseScopes(rec.Scopes)
	if err != nil {
		return nil, fmt.Errorf("stored token %s: %w", rec.ID, err)
	}
	return &Principal{UserID: rec.UserID, TokenID: rec.ID, Scopes: scopes, ReadOnly: rec.ReadOnly,
		Protocols: rec.Protocols, ExpiresAt: rec.ExpiresAt, OrgID: rec.OrgID, Attributes: rec.Attributes}, nil
}

// issueToken makes a random token for userID with scopes, stores its
// record and returns it.
func issueToken(ctx context.Context, store tokenStore, userID string, scopes []Scope, opts TokenOptions) (string, TokenInfo, error) {
	token := newTokenString()
	h := hashToken(token)
	info := TokenInfo{
		ID: h[:tokenIDLen], UserID: userID, Name: opts.Name, Protocols: slices.Clone(opts.Protocols),
		Scopes: scopeStrings(scopes), ReadOnly: opts.ReadOnly, CreatedAt: time.Now().UTC(),
	}
	if opts.TTL > 0 {
		info.ExpiresAt = info.CreatedAt.Add(opts.TTL)
	}
	rec := tokenRecord{Hash: h, TokenInfo: info, OrgID: opts.OrgID, Attributes: opts.Attributes}
	if err := store.put(ctx, rec); err != nil {
		return "", TokenInfo{}, err
	}
	return token, info, nil
}

// listTokens lists the user's tokens in store, newest first.
func listTokens(ctx context.Context, store tokenStore, userID string) ([]TokenInfo, error) {
	list, err := store.list(ctx, userID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b TokenInfo) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return list, nil
}
