package cargo_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/smartregistry/smartregistry/cargo"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// A handler on the memory backend, asked for config.json as cargo asks for
// it: anonymously first, then (the registry requires authentication) with
// its token, bare.
func ExampleNew() {
	storage := core.NewStorage(memory.New(), core.StorageHooks{})
	provider, _ := core.NewDefaultAuthProvider(core.DefaultAuthOptions{
		Tokens: []core.StaticToken{{Token: "secret", UserID: "ci"}},
	})
	auth, _ := core.NewAuthManager(core.AuthOptions{Provider: provider})
	h, err := cargo.New(core.Deps{Storage: storage, Auth: auth}, cargo.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, token := range []string{"", "secret"} {
		req := &core.RequestContext{Method: http.MethodGet, Path: "/config.json", Header: http.Header{},
			Actor: &core.Actor{}, BaseURL: "https://registry.example/cargo"}
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := h.Handle(ctx, req)
		if err != nil {
			resp = h.ErrorResponse(ctx, req, err)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.Status, resp.Header.Get("WWW-Authenticate"), string(body))
	}
	// Output:
	// 401 Cargo login_url="https://registry.example/cargo/me" {"errors":[{"detail":"authentication required: this registry requires a token (cargo login)"}]}
	// 200  {"api":"https://registry.example/cargo","auth-required":true,"dl":"https://registry.example/cargo/api/v1/crates"}
}

func ExampleIndexPath() {
	for _, name := range []string{"a", "ab", "abc", "Serde_JSON"} {
		fmt.Println(cargo.IndexPath(name))
	}
	// Output:
	// 1/a
	// 2/ab
	// 3/a/abc
	// se/rd/serde_json
}

func ExampleNormalizeName() {
	fmt.Println(cargo.NormalizeName("Serde_JSON"), cargo.NormalizeName("serde-json"))
	// Output: serde-json serde-json
}

func ExampleParseVersion() {
	v, _ := cargo.ParseVersion("1.2.3-rc.1+build.5")
	w, _ := cargo.ParseVersion("1.2.3")
	fmt.Println(v.Major, v.Minor, v.Patch, v.Pre, v.Build, v.Compare(w))
	// Output: 1 2 3 rc.1 build.5 -1
}
