package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(options) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(o options) bool {
			return o.addr == "127.0.0.1:8080" && o.data == "./data" && o.adminUser == "admin" && o.s3Endpoint == ""
		}, ""},
		{"env", nil, map[string]string{"SMARTREGISTRY_ADDR": ":9000", "SMARTREGISTRY_URL": "https://reg.example.com/",
			"SMARTREGISTRY_ANONYMOUS_READ": "oci, pypi"}, func(o options) bool {
			return o.addr == ":9000" && o.publicURL == "https://reg.example.com" && len(o.anonymousRead) == 2
		}, ""},
		{"flag wins", []string{"-addr", "127.0.0.1:1"}, map[string]string{"SMARTREGISTRY_ADDR": ":9000"}, func(o options) bool {
			return o.addr == "127.0.0.1:1"
		}, ""},
		{"bad url", nil, map[string]string{"SMARTREGISTRY_URL": "not a url"}, nil, "SMARTREGISTRY_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(o) {
				t.Fatalf("options = %+v, err = %v", o, err)
			}
		})
	}
}

func TestSplitEndpoint(t *testing.T) {
	if h, p, err := splitEndpoint("127.0.0.1:9000"); err != nil || h != "127.0.0.1" || p != 9000 {
		t.Fatalf("got %q %d %v", h, p, err)
	}
	if _, _, err := splitEndpoint("host:x"); err == nil {
		t.Fatal("bad port accepted")
	}
}

func TestHealthz(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    e2etest.Options
		backend string
	}{
		{"filesystem", e2etest.Options{}, "filesystem"},
		{"s3", e2etest.Options{S3: true}, "s3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := e2etest.StartServer(t, tc.opts)
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var h health
			if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || h.Status != "ok" || h.Storage.Backend != tc.backend || !h.Storage.Reachable {
				t.Fatalf("healthz = %d %+v", resp.StatusCode, h)
			}
			resp2, err := http.Get(srv.URL + "/no-such-protocol/x")
			if err != nil {
				t.Fatal(err)
			}
			resp2.Body.Close()
			if resp2.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown path = %d, want 404", resp2.StatusCode)
			}
		})
	}
}

// TestLoginThrottleOn: the example server throttles failed logins.
func TestLoginThrottleOn(t *testing.T) {
	o, err := parseOptions(nil, func(k string) string {
		return map[string]string{"SMARTREGISTRY_DATA": t.TempDir(), "SMARTREGISTRY_ADMIN_PASSWORD": "pw"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := o.registryConfig(slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if lt := cfg.Auth.LoginThrottle; lt.UserFailures <= 0 || lt.IPFailures <= 0 || !cfg.Auth.PersistTokens {
		t.Errorf("LoginThrottle %+v (PersistTokens %v): want it on, with counters in storage", lt, cfg.Auth.PersistTokens)
	}
}
