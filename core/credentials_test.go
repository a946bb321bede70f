package core_test

import (
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		header string
		want   core.Credentials
	}{
		{"", core.Credentials{}},
		{"   ", core.Credentials{}},
		{"Bearer abc", core.Credentials{Kind: core.CredentialBearer, Token: "abc"}},
		{"BEARER   abc  ", core.Credentials{Kind: core.CredentialBearer, Token: "abc"}},
		{"token abc", core.Credentials{Kind: core.CredentialBearer, Token: "abc"}},
		{basic("__token__", "abc"), core.Credentials{Kind: core.CredentialBasic, Username: "__token__", Password: "abc"}},
		// The password may hold colons; the user name cannot.
		{basic("u", "p:a:ss"), core.Credentials{Kind: core.CredentialBasic, Username: "u", Password: "p:a:ss"}},
		{basic("", "abc"), core.Credentials{Kind: core.CredentialBasic, Password: "abc"}},
		{"Basic bm9jb2xvbg==", core.Credentials{Kind: core.CredentialBasic, Username: "nocolon"}},
		{"Basic %%%", core.Credentials{Kind: core.CredentialBasic}},
		{"srt_abc", core.Credentials{Kind: core.CredentialRaw, Token: "srt_abc"}},
		{"Digest x=y", core.Credentials{Kind: core.CredentialRaw, Token: "Digest x=y"}},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Authorization", tt.header)
			}
			if got := core.ParseCredentials(h); got != tt.want {
				t.Errorf("ParseCredentials(%q) = %+v, want %+v", tt.header, got, tt.want)
			}
		})
	}
}
