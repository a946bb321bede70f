package npm

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestPublishAndRead(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	for _, p := range []*publishDoc{newPublish(t, "left-pad", "1.0.0"), newPublish(t, "left-pad", "1.1.0"),
		newPublish(t, "@team/app", "0.1.0")} {
		e.publish(ctx, adminToken, p)
	}
	beta := newPublish(t, "left-pad", "2.0.0-beta.1")
	beta.tag = "beta"
	e.publish(ctx, adminToken, beta)

	doc := e.packument(ctx, "left-pad")
	tags := doc["dist-tags"].(map[string]any)
	if tags["latest"] != "1.1.0" || tags["beta"] != "2.0.0-beta.1" {
		t.Errorf("dist-tags = %v", tags)
	}
	v := doc["versions"].(map[string]any)["1.0.0"].(map[string]any)
	dist := v["dist"].(map[string]any)
	if dist["tarball"] != testBase+"/left-pad/-/left-pad-1.0.0.tgz" {
		t.Errorf("tarball = %v", dist["tarball"])
	}
	if doc["_rev"] == "" || doc["description"] != "test package left-pad" {
		t.Errorf("_rev %v, description %v", doc["_rev"], doc["description"])
	}

	tests := []struct {
		name, method, path, token string
		header                    []string
		wantStatus                int
		wantType                  string
		wantIn                    string
		wantOut                   string
	}{
		{"full", "GET", "/left-pad", adminToken, nil, 200, "application/json", `"time"`, ""},
		{"abbreviated", "GET", "/left-pad", adminToken, []string{"Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"},
			200, abbreviatedType, `"modified"`, `"_npmUser"`},
		{"scoped escaped", "GET", "/@team%2fapp", adminToken, nil, 200, "application/json", `"@team/app"`, ""},
		{"scoped unescaped", "GET", "/@team/app", adminToken, nil, 200, "application/json", `/@team/app/-/app-0.1.0.tgz`, ""},
		{"version", "GET", "/left-pad/1.0.0", adminToken, nil, 200, "application/json", `"version":"1.0.0"`, ""},
		{"dist-tag", "GET", "/left-pad/beta", adminToken, nil, 200, "application/json", `"version":"2.0.0-beta.1"`, ""},
		{"scoped version", "GET", "/@team%2fapp/latest", adminToken, nil, 200, "application/json", `"version":"0.1.0"`, ""},
		{"missing version", "GET", "/left-pad/9.9.9", adminToken, nil, 404, "application/json", `"error"`, ""},
		{"missing package", "GET", "/no-such", adminToken, nil, 404, "application/json", `not found`, ""},
		{"anonymous", "GET", "/left-pad", "", nil, 401, "application/json", `"error"`, ""},
		{"bad token", "GET", "/left-pad", "nope", nil, 401, "application/json", `"error"`, ""},
		{"team cannot read others", "GET", "/left-pad", teamToken, nil, 403, "application/json", `"error"`, ""},
		{"team reads its scope", "GET", "/@team/app", teamToken, nil, 200, "application/json", `"@team/app"`, ""},
		{"tarball", "GET", "/left-pad/-/left-pad-1.0.0.tgz", adminToken, nil, 200, "application/octet-stream", "", ""},
		{"scoped tarball", "GET", "/@team/app/-/app-0.1.0.tgz", adminToken, nil, 200, "application/octet-stream", "", ""},
		{"foreign tarball name", "GET", "/left-pad/-/other-1.0.0.tgz", adminToken, nil, 404, "application/json", "", ""},
		{"ping", "GET", "/-/ping", "", nil, 200, "application/json", "{}", ""},
		{"whoami", "GET", "/-/whoami", adminToken, nil, 200, "application/json", `"username":"admin"`, ""},
		{"whoami anonymous", "GET", "/-/whoami", "", nil, 401, "application/json", `"error"`, ""},
		{"dist-tags", "GET", "/-/package/left-pad/dist-tags", adminToken, nil, 200, "application/json", `"beta":"2.0.0-beta.1"`, ""},
		{"method not allowed", "PATCH", "/left-pad", adminToken, nil, 405, "application/json", `"error"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(ctx, tt.method, tt.path, tt.token, nil, tt.header...)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if !bytes.Contains(r.body, []byte(tt.wantIn)) {
				t.Errorf("body lacks %s: %.300s", tt.wantIn, r.body)
			}
			if tt.wantOut != "" && bytes.Contains(r.body, []byte(tt.wantOut)) {
				t.Errorf("body has %s: %.300s", tt.wantOut, r.body)
			}
		})
	}

	t.Run("tarball bytes and length", func(t *testing.T) {
		r := e.do(ctx, "GET", "/@team/app/-/app-0.1.0.tgz", adminToken, nil)
		want := newPublish(t, "@team/app", "0.1.0").tarball
		if !bytes.Equal(r.body, want) || r.header.Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Errorf("tarball: %d bytes, Content-Length %s, want %d", len(r.body), r.header.Get("Content-Length"), len(want))
		}
	})
	t.Run("etag", func(t *testing.T) {
		accept := []string{"Accept", abbreviatedType}
		r := e.do(ctx, "GET", "/left-pad", adminToken, nil, accept...)
		etag := r.header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		r = e.do(ctx, "GET", "/left-pad", adminToken, nil, append(accept, "If-None-Match", etag)...)
		if r.status != http.StatusNotModified || len(r.body) != 0 {
			t.Fatalf("If-None-Match: %d %s", r.status, r.body)
		}
		full := e.do(ctx, "GET", "/left-pad", adminToken, nil)
		if full.header.Get("ETag") == etag {
			t.Error("full and abbreviated documents share an ETag")
		}
		e.publish(ctx, adminToken, newPublish(t, "left-pad", "1.2.0"))
		r = e.do(ctx, "GET", "/left-pad", adminToken, nil, append(accept, "If-None-Match", etag)...)
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"1.2.0"`)) {
			t.Fatalf("after a publish: %d %.200s", r.status, r.body)
		}
	})
}

func TestRepublishRefused(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	e.publish(ctx, adminToken, newPublish(t, "dup", "1.0.0"))
	e.publish(ctx, adminToken, newPublish(t, "dup", "1.0.1"))
	before := e.keys(ctx)
	// The same tarball again is a retry (its first answer may have been
	// lost): it succeeds and changes nothing.
	r := e.do(ctx, "PUT", "/dup", adminToken, bytes.NewReader(newPublish(t, "dup", "1.0.0").body()))
	if r.status != http.StatusCreated {
		t.Fatalf("retry of the same publish: %d %s", r.status, r.body)
	}
	if after := e.keys(ctx); !slices.Equal(before, after) {
		t.Errorf("a retry changed the keys: %v -> %v", before, after)
	}
	// Other bytes under a published version are refused.
	other := newPublishFrom("dup", "1.0.0", regzip(t, makeTarball(t, "dup", "1.0.0")))
	r = e.do(ctx, "PUT", "/dup", adminToken, bytes.NewReader(other.body()))
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "You cannot publish over the previously published versions: 1.0.0.") {
		t.Fatalf("re-publish: %d %s", r.status, r.body)
	}
	if after := e.keys(ctx); !slices.Equal(before, after) {
		t.Errorf("keys changed: %v -> %v", before, after)
	}
	// Unpublish 1.0.0, then try again: still refused.
	doc := e.packument(ctx, "dup")
	r = e.do(ctx, "DELETE", "/dup/-rev/"+doc["_rev"].(string), adminToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("unpublish: %d %s", r.status, r.body)
	}
	r = e.do(ctx, "PUT", "/dup", adminToken, bytes.NewReader(newPublish(t, "dup", "1.0.0").body()))
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "previously unpublished") {
		t.Fatalf("publish over unpublished: %d %s", r.status, r.body)
	}
	e.publish(ctx, adminToken, newPublish(t, "dup", "1.0.2"))
}

func TestPermissions(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	tests := []struct {
		name, pkg, token string
		want             int
	}{
		{"admin", "free", adminToken, 201},
		{"team in its scope", "@team/lib", teamToken, 201},
		{"team outside its scope", "@other/lib", teamToken, 403},
		{"read-only token", "ro", readerToken, 403},
		{"anonymous", "anon", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(ctx, "PUT", "/"+escapedName(tt.pkg), tt.token, bytes.NewReader(newPublish(t, tt.pkg, "1.0.0").body()))
			if r.status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.status, tt.want, r.body)
			}
		})
	}
}

// TestAnonymousRead: with npm in AuthOptions.AnonymousRead, installs need
// no token, publishes still do.
func TestAnonymousRead(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	e.publish(ctx, adminToken, newPublish(t, "open", "1.0.0"))
	provider, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := core.NewAuthManager(core.AuthOptions{Provider: provider, AnonymousRead: []core.Protocol{core.ProtocolNPM}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(core.Deps{Storage: e.storage, Auth: auth}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	anon := &testEnv{t: t, h: h, storage: e.storage}
	for path, want := range map[string]int{"/open": 200, "/open/1.0.0": 200, "/open/-/open-1.0.0.tgz": 200,
		"/-/v1/search?text=open": 200, "/-/whoami": 401} {
		if r := anon.do(ctx, "GET", path, "", nil); r.status != want {
			t.Errorf("GET %s: %d, want %d: %s", path, r.status, want, r.body)
		}
	}
	if r := anon.do(ctx, "PUT", "/open", "", bytes.NewReader(newPublish(t, "open", "1.1.0").body())); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous publish: %d %s", r.status, r.body)
	}
}
