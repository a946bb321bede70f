package core

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// CredentialKind says how a client presented its credentials.
type CredentialKind int

// The credential kinds clients use.
const (
	// CredentialNone: no Authorization header.
	CredentialNone CredentialKind = iota
	// CredentialBearer: "Authorization: Bearer <token>" (npm, OCI, composer).
	CredentialBearer
	// CredentialBasic: HTTP Basic; the password may be a token (twine, mvn,
	// composer, the OCI token endpoint).
	CredentialBasic
	// CredentialRaw: the bare token with no scheme (cargo, gem).
	CredentialRaw
)

// Credentials are what a request's Authorization header carried.
type Credentials struct {
	// Kind says which of the other fields are set.
	Kind CredentialKind
	// Token is the Bearer or bare token (CredentialBearer, CredentialRaw).
	Token string
	// Username is the Basic user name (CredentialBasic).
	Username string
	// Password is the Basic password, which may be a token (CredentialBasic).
	Password string
}

// ParseCredentials reads the Authorization header the way each client sends
// it: Bearer, Basic, or a bare token.
func ParseCredentials(h http.Header) Credentials {
	v := strings.TrimSpace(h.Get("Authorization"))
	if v == "" {
		return Credentials{}
	}
	scheme, rest, found := strings.Cut(v, " ")
	rest = strings.TrimSpace(rest)
	if found {
		switch strings.ToLower(scheme) {
		case "bearer", "token":
			return Credentials{Kind: CredentialBearer, Token: rest}
		case "basic":
			raw, err := base64.StdEncoding.DecodeString(rest)
			if err != nil {
				return Credentials{Kind: CredentialBasic}
			}
			user, pass, _ := strings.Cut(string(raw), ":")
			return Credentials{Kind: CredentialBasic, Username: user, Password: pass}
		}
	}
	return Credentials{Kind: CredentialRaw, Token: v}
}
