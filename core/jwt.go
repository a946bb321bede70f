package core

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type bearerClaims struct {
	jwt.RegisteredClaims
	TokenID string   `json:"tid,omitempty"`
	Scopes  []string `json:"scopes"`
}

// IssueBearer signs an OCI bearer token (HS256) for p granting exactly the
// given scopes, valid for audience. It returns the token, its lifetime and
// the issue time.
func (m *AuthManager) IssueBearer(p *Principal, granted []Scope, audience string) (string, time.Duration, time.Time, error) {
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
		Scopes: make([]string, 0, len(granted)),
	}
	if p != nil {
		claims.Subject = p.UserID
		claims.TokenID = p.TokenID
	}
	for _, s := range granted {
		claims.Scopes = append(claims.Scopes, s.String())
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(m.jwtSecret)
	if err != nil {
		return "", 0, time.Time{}, fmt.Errorf("sign bearer token: %w", err)
	}
	return tok, ttl, now, nil
}

// ParseBearer checks a bearer token issued by IssueBearer: signature (HS256
// only), expiry, not-before, issuer and audience. Any failure is
// [ErrUnauthorized]. The principal holds exactly the granted scopes; an
// anonymous token yields a principal with an empty UserID.
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
	p := &Principal{UserID: claims.Subject, TokenID: claims.TokenID, Scopes: scopes, bearer: true}
	if claims.ExpiresAt != nil {
		p.ExpiresAt = claims.ExpiresAt.Time
	}
	return p, nil
}
