package oci

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestCatalog(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	runSteps(t, ts, []step{{name: "empty registry", method: "GET", url: "/v2/_catalog", header: admin(), status: 200,
		wantBody: []byte(`{"repositories":[]}`)}})

	// Repositories come into the catalog by a blob push, a manifest push
	// (an empty index needs no blob) and a mount.
	shared := pushBlob(t, ts, "team-a/lib", []byte("shared"))
	m := testImage(t, ts, "team-b/secret", "layer")
	emptyIndex := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[]}`, MediaTypeImageIndex))
	runSteps(t, ts, []step{
		{name: "image", method: "PUT", url: "/v2/team-b/secret/manifests/v1", header: admin("Content-Type", MediaTypeImageManifest),
			body: m, status: 201},
		{name: "index only", method: "PUT", url: "/v2/zeta/manifests/v1", header: admin("Content-Type", MediaTypeImageIndex),
			body: emptyIndex, status: 201},
		{name: "mount", method: "POST", url: "/v2/team-a/app/blobs/uploads/?mount=" + shared + "&from=team-a/lib",
			header: admin(), status: 201},
		{name: "second push to a listed repository", method: "POST", url: "/v2/team-a/lib/blobs/uploads/?mount=" + shared + "&from=team-a/lib",
			header: admin(), status: 201},
	})

	link := func(n, last string) string {
		return fmt.Sprintf(`<%s/oci/v2/_catalog?last=%s&n=%s>; rel="next"`, ts.URL, last, n)
	}
	alice := basic(aliceUser, alicePass)
	runSteps(t, ts, []step{
		{name: "admin sees all", method: "GET", url: "/v2/_catalog", header: admin(), status: 200,
			wantBody:   []byte(`{"repositories":["team-a/app","team-a/lib","team-b/secret","zeta"]}`),
			wantHeader: map[string]string{"Link": ""}},
		{name: "first page", method: "GET", url: "/v2/_catalog?n=2", header: admin(), status: 200,
			wantBody:   []byte(`{"repositories":["team-a/app","team-a/lib"]}`),
			wantHeader: map[string]string{"Link": link("2", "team-a%2Flib")}},
		{name: "next page", method: "GET", url: "/v2/_catalog?n=2&last=team-a/lib", header: admin(), status: 200,
			wantBody: []byte(`{"repositories":["team-b/secret","zeta"]}`), wantHeader: map[string]string{"Link": ""}},
		{name: "last that is not listed", method: "GET", url: "/v2/_catalog?last=team-a/b", header: admin(), status: 200,
			wantBody: []byte(`{"repositories":["team-a/lib","team-b/secret","zeta"]}`)},
		{name: "n=0", method: "GET", url: "/v2/_catalog?n=0", header: admin(), status: 200, wantBody: []byte(`{"repositories":[]}`)},
		{name: "bad n", method: "GET", url: "/v2/_catalog?n=-1", header: admin(), status: 400},
		{name: "alice sees team-a only", method: "GET", url: "/v2/_catalog", header: alice, status: 200,
			wantBody: []byte(`{"repositories":["team-a/app","team-a/lib"]}`)},
		{name: "no next page when the rest is hidden", method: "GET", url: "/v2/_catalog?n=2", header: alice, status: 200,
			wantBody: []byte(`{"repositories":["team-a/app","team-a/lib"]}`), wantHeader: map[string]string{"Link": ""}},
		{name: "anonymous", method: "GET", url: "/v2/_catalog", status: 401, code: "UNAUTHORIZED",
			wantHeader: map[string]string{"WWW-Authenticate": fmt.Sprintf(
				`Bearer realm="%s/oci/token",service="smartregistry",scope="registry:catalog:*"`, ts.URL)}},
	})
	repoTok := fetchToken(t, ts, "scope=repository:team-a/lib:pull", alice)
	catalogTok := fetchToken(t, ts, "scope=repository:team-a/lib:pull&scope=registry:catalog:*", alice)
	adminTok := fetchToken(t, ts, "scope=registry:catalog:*", admin())
	anonTok := fetchToken(t, ts, "scope=registry:catalog:*", nil)
	runSteps(t, ts, []step{
		{name: "a repository token lists what it grants", method: "GET", url: "/v2/_catalog", header: bearer(repoTok),
			status: 200, wantBody: []byte(`{"repositories":["team-a/lib"]}`)},
		{name: "a catalog token lists what its holder may read", method: "GET", url: "/v2/_catalog",
			header: bearer(catalogTok), status: 200, wantBody: []byte(`{"repositories":["team-a/app","team-a/lib"]}`)},
		{name: "an admin catalog token lists everything", method: "GET", url: "/v2/_catalog", header: bearer(adminTok),
			status: 200, wantBody: []byte(`{"repositories":["team-a/app","team-a/lib","team-b/secret","zeta"]}`)},
		{name: "an anonymous catalog token lists nothing", method: "GET", url: "/v2/_catalog", header: bearer(anonTok),
			status: 200, wantBody: []byte(`{"repositories":[]}`)},
	})

	// The index lives in storage: another instance lists the same and adds
	// to it.
	second := newHandler(t, ts.h.Load().deps.Storage, ts.h.Load().deps.Auth, Config{})
	ts.h.Store(second)
	pushBlob(t, ts, "alpha", []byte("new"))
	pushBlob(t, ts, "zeta", []byte("again"))
	runSteps(t, ts, []step{{name: "second instance", method: "GET", url: "/v2/_catalog", header: admin(), status: 200,
		wantBody: []byte(`{"repositories":["alpha","team-a/app","team-a/lib","team-b/secret","zeta"]}`)}})

	ts.h.Store(newHandler(t, second.deps.Storage, testAuth(t, core.ProtocolOCI), Config{}))
	runSteps(t, ts, []step{{name: "anonymous read", method: "GET", url: "/v2/_catalog?n=1", status: 200,
		wantBody: []byte(`{"repositories":["alpha"]}`), wantHeader: map[string]string{"Link": link("1", "alpha")}}})
}

// BenchmarkCatalog is one page of 100 out of a catalog of 10,000
// repositories, as admin with Basic credentials: one listing of the
// markers after "last", and each listed name is authorized.
func BenchmarkCatalog(b *testing.B) {
	ts := newTestServer(b, nil, Config{})
	h := ts.h.Load()
	var names []string
	for i := range 10000 {
		name := fmt.Sprintf("team-%03d/app-%d", i/100, i)
		names = append(names, name)
		if err := h.catalogAdd(b.Context(), name); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(names)
	req := func() *core.RequestContext {
		return &core.RequestContext{Method: "GET", Path: "/v2/_catalog", Header: admin(),
			Query: url.Values{"n": {"100"}, "last": {names[5000]}}, Actor: &core.Actor{}, BaseURL: "http://x/oci"}
	}
	for b.Loop() {
		resp, err := h.Handle(b.Context(), req())
		if err != nil || resp.Status != 200 {
			b.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
	}
}

// TestCatalogTokenGrantsNoPull checks that a token asked for the catalog
// lists names but pulls nothing more than its holder may pull. Bob's
// stored token was made while he held team-a/*; he now holds team-a/app
// only, so the provider refuses him team-a/lib, and the catalog token must
// not hand it back.
func TestCatalogTokenGrantsNoPull(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	st := ts.h.Load().deps.Storage
	provider := func(bobScope string) *core.AuthManager {
		prov, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{Storage: st, TokenCacheTTL: -1, Users: []core.UserConfig{
			{Username: adminUser, PasswordHash: cheapHash(t, adminPass)},
			{Username: bobUser, PasswordHash: cheapHash(t, bobPass), Scopes: []string{bobScope}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		auth, err := core.NewAuthManager(core.AuthOptions{Provider: prov, JWTSecret: []byte("test-secret-of-at-least-32-bytes")})
		if err != nil {
			t.Fatal(err)
		}
		return auth
	}
	bobToken, _, err := provider("oci:repository:team-a/*:*").Provider().CreateToken(t.Context(), bobUser, core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts.h.Store(newHandler(t, st, provider("oci:repository:team-a/app:*"), Config{}))
	lib := pushBlob(t, ts, "team-a/lib", []byte("lib"))
	pushBlob(t, ts, "team-a/app", []byte("app"))
	bob := basic(bobUser, bobToken)
	runSteps(t, ts, []step{{name: "the token may not pull team-a/lib", method: "GET", url: "/v2/team-a/lib/blobs/" + lib,
		header: bob, status: 403}})
	catalogTok := fetchToken(t, ts, "scope=registry:catalog:*", bob)
	runSteps(t, ts, []step{
		{name: "the catalog token lists", method: "GET", url: "/v2/_catalog", header: bearer(catalogTok), status: 200,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if !strings.Contains(string(body), `"team-a/app"`) {
					t.Errorf("catalog %s does not list team-a/app", body)
				}
			}},
		{name: "the catalog token may not pull team-a/lib", method: "GET", url: "/v2/team-a/lib/blobs/" + lib,
			header: bearer(catalogTok), status: 401},
	})
}
