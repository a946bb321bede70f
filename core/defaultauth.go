package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// UserConfig is a user of the [DefaultAuthProvider].
type UserConfig struct {
	// Username is the login name, and the UserID of the principal.
	Username string
	// Password is the password in clear text, hashed at start-up. Set it
	// or PasswordHash.
	Password string
	// PasswordHash is a hash from [HashPassword], used when Password is
	// empty; it keeps the clear text out of the configuration.
	PasswordHash string
	// Scopes are the user's permissions, as scope strings such as
	// "npm:package:@team/*:write"; empty means all ("*:*:*:*").
	Scopes []string
	// OrgID is the organisation or tenant the user acts for, passed on as
	// [Principal.OrgID] (and so to [Actor.OrgID]) for the user's password
	// logins and tokens. Optional.
	OrgID string
}

// StaticToken is a fixed token known from configuration, e.g. an admin token
// for scripts and CI. It is held only as its hash.
type StaticToken struct {
	// Token is the secret the client sends; required.
	Token string
	// UserID is the user the token acts for; required. It need not be a
	// configured user.
	UserID string
	// Scopes are the token's permissions; empty means those of the user,
	// or all if the user is not configured.
	Scopes []string
	// ReadOnly tokens are refused every write and delete.
	ReadOnly bool
	// OrgID is the organisation or tenant the token acts for; empty means
	// the configured user's OrgID.
	OrgID string
}

// DefaultAuthOptions configure the [DefaultAuthProvider].
type DefaultAuthOptions struct {
	// Users can log in with a password and create tokens.
	Users []UserConfig
	// Tokens are fixed tokens known from configuration.
	Tokens []StaticToken
	// Storage, when set, keeps created tokens (as SHA-256 hashes) under
	// StoragePrefix, so they survive restarts and are shared by replicas.
	// Otherwise they live in memory.
	Storage *Storage
	// StoragePrefix is where tokens are kept in Storage; default
	// "auth/tokens/".
	StoragePrefix string
	// TokenCacheTTL is how long a token read from Storage is trusted
	// without reading it again; 0 means 10 seconds, negative turns the
	// cache off. A revocation takes effect at once on the instance that
	// revoked, and within this time on other replicas.
	TokenCacheTTL time.Duration
}

// defaultTokenCacheTTL is the TokenCacheTTL used when it is 0.
const defaultTokenCacheTTL = 10 * time.Second

// DefaultAuthProvider is the built-in [AuthProvider]: users from
// configuration with PBKDF2-hashed passwords, and opaque random tokens stored
// only as SHA-256 hashes.
//
// A PBKDF2 check costs tens of milliseconds, and clients that log in with a
// password send it on every request, so Authenticate remembers, per user,
// an HMAC (under a random per-process key) of the last password that checked
// out and accepts the same password again without PBKDF2. Wrong passwords
// are never remembered and always pay the full cost, also for unknown users,
// so that timing does not tell which user names exist.
type DefaultAuthProvider struct {
	users map[string]*defaultUser
	// holds are the scopes each known user holds: a configured user's own,
	// or for a user known only from static tokens what those grant.
	holds     map[string][]Scope
	tokens    tokenStore
	staticIDs map[string]bool   // IDs of the configured tokens
	orgs      map[string]string // user → OrgID
	tokenOrgs map[string]string // static token ID → its own OrgID

	// decoy is a configured user's hash, checked for unknown user names so
	// they cost what a wrong password costs.
	decoy    string
	cacheKey []byte // HMAC key of the verified-password cache
	mu       sync.Mutex
	verified map[string][sha256.Size]byte // user → HMAC of the last password that checked out
}

type defaultUser struct {
	hash   string
	scopes []Scope
}

var allScopes = []Scope{{Protocol: "*", Type: "*", Name: "*", Action: ActionAll}}

// NewDefaultAuthProvider builds the provider, hashing clear-text passwords.
func NewDefaultAuthProvider(opts DefaultAuthOptions) (*DefaultAuthProvider, error) {
	p := &DefaultAuthProvider{
		users:     map[string]*defaultUser{},
		holds:     map[string][]Scope{},
		staticIDs: map[string]bool{},
		orgs:      map[string]string{},
		tokenOrgs: map[string]string{},
		cacheKey:  make([]byte, 32),
		verified:  map[string][sha256.Size]byte{},
	}
	if _, err := rand.Read(p.cacheKey); err != nil {
		return nil, fmt.Errorf("auth: make cache key: %w", err)
	}
	for i, u := range opts.Users {
		if u.Username == "" {
			return nil, fmt.Errorf("auth users[%d]: username is empty", i)
		}
		if _, dup := p.users[u.Username]; dup {
			return nil, fmt.Errorf("auth users[%d]: user %q is configured twice", i, u.Username)
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
		if p.decoy == "" {
			p.decoy = hash
		}
		p.holds[u.Username] = scopes
		if u.OrgID != "" {
			p.orgs[u.Username] = u.OrgID
		}
	}
	next, err := newTokenStore(TokenStoreOptions{
		Storage: opts.Storage, StoragePrefix: opts.StoragePrefix, TokenCacheTTL: opts.TokenCacheTTL,
	})
	if err != nil {
		return nil, err
	}
	layered := &layeredTokens{static: map[string]tokenRecord{}, next: next}
	p.tokens = layered
	for i, st := range opts.Tokens {
		if st.Token == "" || st.UserID == "" {
			return nil, fmt.Errorf("auth tokens[%d]: token and user are required", i)
		}
		scopes := allScopes
		if u, ok := p.users[st.UserID]; ok {
			scopes = u.scopes
		}
		if len(st.Scopes) > 0 {
			var err error
			if scopes, err = ParseScopes(st.Scopes); err != nil {
				return nil, fmt.Errorf("auth tokens[%d]: %w", i, err)
			}
		}
		h := hashToken(st.Token)
		if _, dup := layered.static[h]; dup {
			return nil, fmt.Errorf("auth tokens[%d]: the same token is configured twice", i)
		}
		p.staticIDs[h[:tokenIDLen]] = true
		if st.OrgID != "" {
			p.tokenOrgs[h[:tokenIDLen]] = st.OrgID
		}
		layered.static[h] = tokenRecord{Hash: h, TokenInfo: TokenInfo{
			ID: h[:tokenIDLen], UserID: st.UserID, Name: "static", Scopes: scopeStrings(scopes), ReadOnly: st.ReadOnly,
		}}
		if _, ok := p.users[st.UserID]; !ok {
			if st.ReadOnly {
				scopes = readOnlyScopes(scopes)
			}
			p.holds[st.UserID] = append(p.holds[st.UserID], scopes...)
		}
	}
	return p, nil
}

// readOnlyScopes returns list with every action narrowed to read.
func readOnlyScopes(list []Scope) []Scope {
	out := slices.Clone(list)
	for i := range out {
		out[i].Action = ActionRead
	}
	return out
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
		if p.decoy != "" {
			CheckPassword(p.decoy, password) // the cost of a wrong password; the result does not matter
		}
		return nil, fmt.Errorf("%w: unknown user or wrong password", ErrUnauthorized)
	}
	if !p.recent(username, password) {
		if !CheckPassword(u.hash, password) {
			return nil, fmt.Errorf("%w: unknown user or wrong password", ErrUnauthorized)
		}
		p.mu.Lock()
		p.verified[username] = p.passwordMAC(password)
		p.mu.Unlock()
	}
	return &Principal{UserID: username, Scopes: u.scopes, OrgID: p.orgs[username]}, nil
}

// AuthenticateRecent accepts the password that last checked out for the
// user, at the cost of an HMAC; anything else is false ([RecentLogins]).
func (p *DefaultAuthProvider) AuthenticateRecent(_ context.Context, username, password string) (*Principal, bool) {
	u, ok := p.users[username]
	if !ok || !p.recent(username, password) {
		return nil, false
	}
	return &Principal{UserID: username, Scopes: u.scopes, OrgID: p.orgs[username]}, true
}

// recent reports whether password is the one that last checked out for
// the user, and returns its HMAC for remember.
func (p *DefaultAuthProvider) recent(username, password string) bool {
	sum := p.passwordMAC(password)
	p.mu.Lock()
	last, seen := p.verified[username]
	p.mu.Unlock()
	return seen && hmac.Equal(last[:], sum[:])
}

// passwordMAC is the HMAC under which a verified password is remembered.
func (p *DefaultAuthProvider) passwordMAC(password string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, p.cacheKey)
	mac.Write([]byte(password))
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	return sum
}

// ValidateToken looks a token up by its hash. The principal's OrgID is
// the static token's, or else its user's.
func (p *DefaultAuthProvider) ValidateToken(ctx context.Context, token string, protocol Protocol) (*Principal, error) {
	pr, err := lookupToken(ctx, p.tokens, token, protocol)
	if err != nil {
		return nil, err
	}
	if _, known := p.holds[pr.UserID]; !known {
		return nil, fmt.Errorf("%w: the token's user no longer exists", ErrUnauthorized)
	}
	org, ok := p.tokenOrgs[pr.TokenID]
	if !ok {
		org = p.orgs[pr.UserID]
	}
	pr.OrgID, pr.Attributes = org, nil
	return pr, nil
}

// CreateToken issues a random token. Requested scopes are kept only where
// the user holds them. Users are those configured and those named by a
// static token; any other user ID is [ErrInvalidArgument].
func (p *DefaultAuthProvider) CreateToken(ctx context.Context, userID string, opts TokenOptions) (string, TokenInfo, error) {
	if userID == "" {
		return "", TokenInfo{}, fmt.Errorf("%w: a token needs a user", ErrInvalidArgument)
	}
	own, ok := p.holds[userID]
	if !ok {
		return "", TokenInfo{}, fmt.Errorf("%w: unknown user %q", ErrInvalidArgument, userID)
	}
	scopes := own
	if opts.Scopes != nil {
		scopes = narrowScopes(own, opts.Scopes)
	}
	return issueToken(ctx, p.tokens, userID, scopes, TokenOptions{
		Name: opts.Name, Protocols: opts.Protocols, ReadOnly: opts.ReadOnly, TTL: opts.TTL,
	})
}

// RevokeToken removes one of the user's tokens.
func (p *DefaultAuthProvider) RevokeToken(ctx context.Context, userID, tokenID string) error {
	return p.tokens.revoke(ctx, userID, tokenID)
}

// ListTokens lists the user's tokens, newest first.
func (p *DefaultAuthProvider) ListTokens(ctx context.Context, userID string) ([]TokenInfo, error) {
	return listTokens(ctx, p.tokens, userID)
}

// Authorize checks want against the principal's scopes. A created token
// is also held to what its user holds now, so that narrowing a user's
// scopes in the configuration narrows the tokens made before; static
// tokens have exactly their configured scopes.
func (p *DefaultAuthProvider) Authorize(_ context.Context, pr *Principal, want Scope) (bool, error) {
	if pr == nil || !AnyAllows(pr.Scopes, want) {
		return false, nil
	}
	if pr.TokenID != "" && !p.staticIDs[pr.TokenID] {
		return AnyAllows(p.holds[pr.UserID], want), nil
	}
	return true, nil
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
