package npm_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/npm"
)

// The handler on its own, as the Registry mounts it: requests below the
// base path, errors rendered by ErrorResponse.
func ExampleNew() {
	ctx := context.Background()
	storage := core.NewStorage(memory.New(), core.StorageHooks{})
	provider, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{
		Tokens: []core.StaticToken{{Token: "ci-token", UserID: "ci", Scopes: []string{"npm:package:@team/*:write"}}},
	})
	if err != nil {
		panic(err)
	}
	auth, err := core.NewAuthManager(core.AuthOptions{Provider: provider})
	if err != nil {
		panic(err)
	}
	h, err := npm.New(core.Deps{Storage: storage, Auth: auth}, npm.Config{})
	if err != nil {
		panic(err)
	}
	get := func(path, token string) {
		u, _ := url.Parse(path)
		req := &core.RequestContext{Method: http.MethodGet, Path: u.EscapedPath(), Query: u.Query(),
			Header: http.Header{}, Body: http.NoBody, Actor: &core.Actor{}, BaseURL: "https://registry.example.com/npm"}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := h.Handle(ctx, req)
		if err != nil {
			resp = h.ErrorResponse(ctx, req, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Status, string(body))
	}
	get("/-/whoami", "ci-token")
	get("/-/whoami", "")
	get("/@team%2fapp", "ci-token")
	get("/other", "ci-token")
	// Output:
	// 200 {"username":"ci"}
	// 401 {"error":"you must be logged in"}
	// 404 {"error":"package @team/app not found"}
	// 403 {"error":"you do not have permission to read other: forbidden: npm:package:other:read is not granted"}
}
