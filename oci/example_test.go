package oci_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/oci"
)

// A handler on its own, without the Registry router: the version check
// asks anonymous callers to fetch a token from the realm.
func ExampleNew() {
	prov, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{
		Tokens: []core.StaticToken{{Token: "ci-token", UserID: "ci"}},
	})
	if err != nil {
		panic(err)
	}
	auth, err := core.NewAuthManager(core.AuthOptions{Provider: prov})
	if err != nil {
		panic(err)
	}
	h, err := oci.New(core.Deps{Storage: core.NewStorage(memory.New(), core.StorageHooks{}), Auth: auth},
		oci.Config{Service: "registry.example.com"})
	if err != nil {
		panic(err)
	}
	defer h.Close(context.Background())

	req := &core.RequestContext{Method: "GET", Path: "/v2/", Header: http.Header{}, Actor: &core.Actor{},
		BaseURL: "https://registry.example.com/oci"}
	_, err = h.Handle(context.Background(), req)
	resp := h.ErrorResponse(context.Background(), req, err)
	fmt.Println(resp.Status, resp.Header.Get("WWW-Authenticate"))

	req.Header.Set("Authorization", "Bearer ci-token")
	resp, err = h.Handle(context.Background(), req)
	fmt.Println(resp.Status, err)
	// Output:
	// 401 Bearer realm="https://registry.example.com/oci/token",service="registry.example.com"
	// 200 <nil>
}

// ValidName checks repository names against the spec's grammar.
func ExampleValidName() {
	fmt.Println(oci.ValidName("team/sub/app"), oci.ValidName("Team/App"))
	// Output: true false
}
