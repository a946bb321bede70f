package core

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

type bearerClaims struct {
	jwt.RegisteredClaims
	TokenID string   `json:"tid,omitempty"`
	Scopes  []string `json:"scopes"`
	// Requested are the scopes the token request asked for, granted or
	// not; absent in tokens issued by [AuthManager.IssueBearer].
	Requested []string `json:"req,omitempty"`
	// OrgID and Attributes are the principal's.
	OrgID      string            `json:"org,omitempty"`
	Attributes map[string]string `json:"attrs,omitempty"`
}

// IssueBearer signs an OCI bearer token (HS256) for p granting exactly the
// given scopes, valid for audience. It returns the token, its lifetime and
// the issue time. The token records no requested scopes; token endpoints
// that want handlers to tell a refused scope from one never asked for use
// [AuthManager.IssueBearerRequest].
func (m *AuthManager) IssueBearer(p *Principal, granted []Scope, audience string) (string, time.Duration, time.Time, error) {
	return m.IssueBearerRequest(p, nil, granted, audience)
}

// IssueBearerRequest is [AuthManager.IssueBearer] for a token request that
// asked for the scopes requested, of which granted are the ones p holds.
// The token carries both; [AuthManager.ParseBearer] returns the requested
// ones in Principal.Requested. A user or token ID or scope that is not
// valid UTF-8 is [ErrInvalidArgument]: JSON would turn its bytes into
// U+FFFD, and two such users would get tokens naming the same subject.
func (m *AuthManager) IssueBearerRequest(p *Principal, requested, granted []Scope, audience string) (string, time.Duration, time.Time, error) {
	texts := append(scopeStrings(granted), scopeStrings(requested)...)
	if p != nil {
		texts = append(texts, p.UserID, p.TokenID)
	}
	for _, s := range texts {
		if !utf8.ValidString(s) {
			return "", 0, time.Time{}, fmt.Errorf("%w: bearer token claim %q is not valid UTF-8", ErrInvalidArgument, s)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	ttl := m.jwtTTL
	if p != nil && !p.ExpiresAt.IsZero() && p.ExpiresAt.Sub(now) < ttl {
		ttl = max(p.ExpiresAt.Sub(now), 0)
	}
	claims := bearerClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.jwtIssuer,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Scopes:    scopeStrings(granted),
		Requested: scopeStrings(requested),
	}
	if p != nil {
		claims.Subject = p.UserID
		claims.TokenID = p.TokenID
		claims.OrgID = p.OrgID
		claims.Attributes = p.Attributes
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(m.jwtSecret)
	if err != nil {
		return "", 0, time.Time{}, fmt.Errorf("sign bearer token: %w", err)
	}
	return tok, ttl, now, nil
}

// ParseBearer checks a bearer token issued by IssueBearer: signature (HS256
// only), expiry, not-before, issuer and audience. Any failure is
// [ErrUnauthorized]. The principal holds exactly the granted scopes, and in
// Requested the scopes the token request asked for; an anonymous token
// yields a principal with an empty UserID.
func (m *AuthManager) ParseBearer(token, audience string) (*Principal, error) {
	var claims bearerClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return m.jwtSecret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(m.jwtIssuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid bearer token: %v", ErrUnauthorized, err)
	}
	scopes, err := ParseScopes(claims.Scopes)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid bearer token scopes: %v", ErrUnauthorized, err)
	}
	p := &Principal{UserID: claims.Subject, TokenID: claims.TokenID, Scopes: scopes, bearer: true,
		OrgID: claims.OrgID, Attributes: claims.Attributes}
	if len(claims.Requested) > 0 {
		if p.Requested, err = ParseScopes(claims.Requested); err != nil {
			return nil, fmt.Errorf("%w: invalid bearer token requested scopes: %v", ErrUnauthorized, err)
		}
	}
	if claims.ExpiresAt != nil {
		p.ExpiresAt = claims.ExpiresAt.Time
	}
	return p, nil
}

// AskedFor reports whether p is a bearer token whose request asked for
// want, whether or not it was granted: a requested scope of the same
// protocol, type and name (or a pattern matching them) with want's action
// or "*". Unlike [Scope.Allows], a request for write does not count as one
// for read. A handler that finds want missing from such a token knows the
// token endpoint refused it (answer 403, or fall back), whereas a scope
// never asked for is worth a 401 challenge that names it.
func (p *Principal) AskedFor(want Scope) bool {
	if p == nil || !p.bearer {
		return false
	}
	for _, r := range p.Requested {
		if r.kindCovers(want) && r.matchName(want.Name) && (r.Action == want.Action || r.Action == ActionAll) {
			return true
		}
	}
	return false
}
