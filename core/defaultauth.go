package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// UserConfig is a user of the [DefaultAuthProvider].
type UserConfig struct {
	Username string
	// Password in clear text (hashed at start-up) or PasswordHash from
	// [HashPassword]; one of the two is required.
	Password     string
	PasswordHash string
	// Scopes are the user's permissions; empty means all ("*:*:*:*").
	Scopes []string
}

// StaticToken is a fixed token known from configuration, e.g. an admin token
// for scripts and CI. It is held only as its hash.
type StaticToken struct {
	Token  string
	UserID string
	// Scopes: empty means those of the user, or all if the user is unknown.
	Scopes   []string
	ReadOnly bool
}

// DefaultAuthOptions configure the [DefaultAuthProvider].
type DefaultAuthOptions struct {
	Users  []UserConfig
	Tokens []StaticToken
	// Storage, when set, keeps created tokens (as SHA-256 hashes) under
	// StoragePrefix, so they survive restarts and are shared by replicas.
	// Otherwise they live in memory.
	Storage       *Storage
	StoragePrefix string
}

// DefaultAuthProvider is the built-in [AuthProvider]: users from
// configuration with PBKDF2-hashed passwords, and opaque random tokens stored
// only as SHA-256 hashes.
type DefaultAuthProvider struct {
	users  map[string]*defaultUser
	tokens tokenStore

	mu       sync.Mutex
	verified map[string][32]byte // user → SHA-256 of the last password that checked out
}

type defaultUser struct {
	hash   string
	scopes []Scope
}

var allScopes = []Scope{{Protocol: "*", Type: "*", Name: "*", Action: ActionAll}}

// NewDefaultAuthProvider builds the provider, hashing clear-text passwords.
func NewDefaultAuthProvider(opts DefaultAuthOptions) (*DefaultAuthProvider, error) {
	p := &DefaultAuthProvider{users: map[string]*defaultUser{}, verified: map[string][32]byte{}}
	for i, u := range opts.Users {
		if u.Username == "" {
			return nil, fmt.Errorf("auth users[%d]: username is empty", i)
		}
		hash := u.PasswordHash
		if hash == "" {
			if u.Password == "" {
				return nil, fmt.Errorf("auth users[%d] (%s): password is empty", i, u.Username)
			}
			var err error
			if hash, err = HashPassword(u.Password); err != nil {
				return nil, err
			}
		}
		scopes := allScopes
		if len(u.Scopes) > 0 {
			var err error
			if scopes, err = ParseScopes(u.Scopes); err != nil {
				return nil, fmt.Errorf("auth users[%d] (%s): %w", i, u.Username, err)
			}
		}
		p.users[u.Username] = &defaultUser{hash: hash, scopes: scopes}
	}
	if opts.Storage != nil {
		prefix := opts.StoragePrefix
		if prefix == "" {
			prefix = "auth/tokens/"
		}
		p.tokens = &storedTokens{storage: opts.Storage, prefix: prefix}
	} else {
		p.tokens = &memoryTokens{byHash: map[string]tokenRecord{}}
	}
	p.tokens = &layeredTokens{static: map[string]tokenRecord{}, next: p.tokens}
	for i, st := range opts.Tokens {
		if st.Token == "" || st.UserID == "" {
			return nil, fmt.Errorf("auth tokens[%d]: token and user are required", i)
		}
		scopes := st.Scopes
		if len(scopes) == 0 {
			scopes = scopeStrings(p.userScopes(st.UserID))
		}
		if _, err := ParseScopes(scopes); err != nil {
			return nil, fmt.Errorf("auth tokens[%d]: %w", i, err)
		}
		h := hashToken(st.Token)
		p.tokens.(*layeredTokens).static[h] = tokenRecord{Hash: h, TokenInfo: TokenInfo{
			ID: h[:tokenIDLen], UserID: st.UserID, Name: "static", Scopes: scopes, ReadOnly: st.ReadOnly,
		}}
	}
	return p, nil
}

func (p *DefaultAuthProvider) userScopes(userID string) []Scope {
	if u, ok := p.users[userID]; ok {
		return u.scopes
	}
	return allScopes
}

func scopeStrings(list []Scope) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.String()
	}
	return out
}

// Authenticate checks a configured user's password.
func (p *DefaultAuthProvider) Authenticate(_ context.Context, username, password string) (*Principal, error) {
	u, ok := p.users[username]
	if !ok {
		return nil, fmt.Errorf("%w: unknown user or wrong password", ErrUnauthorized)
	}
	sum := sha256.Sum256([]byte(password))
	p.mu.Lock()
	last, seen := p.verified[username]
	p.mu.Unlock()
	if !seen || subtle.ConstantTimeCompare(last[:], sum[:]) != 1 {
		if !CheckPassword(u.hash, password) {
			return nil, fmt.Errorf("%w: unknown user or wrong password", ErrUnauthorized)
		}
		p.mu.Lock()
		p.verified[username] = sum
		p.mu.Unlock()
	}
	return &Principal{UserID: username, Scopes: u.scopes}, nil
}

// ValidateToken looks a token up by its hash.
func (p *DefaultAuthProvider) ValidateToken(ctx context.Context, token string, protocol Protocol) (*Principal, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrUnauthorized)
	}
	h := hashToken(token)
	rec, err := p.tokens.get(ctx, h)
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
		Protocols: rec.Protocols, ExpiresAt: rec.ExpiresAt}, nil
}

// CreateToken issues a random token. Requested scopes are kept only where
// the user holds them.
func (p *DefaultAuthProvider) CreateToken(ctx context.Context, userID string, opts TokenOptions) (string, TokenInfo, error) {
	if userID == "" {
		return "", TokenInfo{}, fmt.Errorf("%w: a token needs a user", ErrInvalidArgument)
	}
	own := p.userScopes(userID)
	scopes := own
	if opts.Scopes != nil {
		scopes = nil
		for _, s := range opts.Scopes {
			if AnyAllows(own, s) || slices.ContainsFunc(own, func(o Scope) bool { return o.String() == s.String() }) {
				scopes = append(scopes, s)
			}
		}
	}
	token := newTokenString()
	h := hashToken(token)
	info := TokenInfo{
		ID: h[:tokenIDLen], UserID: userID, Name: opts.Name, Protocols: slices.Clone(opts.Protocols),
		Scopes: scopeStrings(scopes), ReadOnly: opts.ReadOnly, CreatedAt: time.Now().UTC(),
	}
	if opts.TTL > 0 {
		info.ExpiresAt = info.CreatedAt.Add(opts.TTL)
	}
	if err := p.tokens.put(ctx, tokenRecord{Hash: h, TokenInfo: info}); err != nil {
		return "", TokenInfo{}, err
	}
	return token, info, nil
}

// RevokeToken removes one of the user's tokens.
func (p *DefaultAuthProvider) RevokeToken(ctx context.Context, userID, tokenID string) error {
	return p.tokens.revoke(ctx, userID, tokenID)
}

// ListTokens lists the user's tokens, newest first.
func (p *DefaultAuthProvider) ListTokens(ctx context.Context, userID string) ([]TokenInfo, error) {
	list, err := p.tokens.list(ctx, userID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b TokenInfo) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return list, nil
}

// Authorize checks want against the principal's scopes.
func (p *DefaultAuthProvider) Authorize(_ context.Context, pr *Principal, want Scope) (bool, error) {
	if pr == nil {
		return false, nil
	}
	return AnyAllows(pr.Scopes, want), nil
}

// tokenIDLen is how many hex characters of a token's hash make its ID.
const tokenIDLen = 16

// TokenID returns the ID of a token string: the first 16 hex characters of
// its SHA-256 hash. Clients that revoke by token (npm) use it.
func TokenID(token string) string { return hashToken(token)[:tokenIDLen] }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newTokenString() string {
	a, b := uuid.New(), uuid.New()
	return "srt_" + strings.ReplaceAll(a.String()+b.String(), "-", "")
}
