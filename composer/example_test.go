package composer_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/smartregistry/smartregistry/composer"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// A handler on the memory backend: a zip is uploaded, and its version
// shows in the package's metadata file as composer reads it.
func ExampleNew() {
	storage := core.NewStorage(memory.New(), core.StorageHooks{})
	provider, _ := core.NewDefaultAuthProvider(core.DefaultAuthOptions{
		Tokens: []core.StaticToken{{Token: "secret", UserID: "ci"}},
	})
	auth, _ := core.NewAuthManager(core.AuthOptions{Provider: provider, AnonymousRead: []core.Protocol{core.ProtocolComposer}})
	h, err := composer.New(core.Deps{Storage: storage, Auth: auth}, composer.Config{})
	if err != nil {
		panic(err)
	}
	defer h.Close(context.Background())

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("composer.json")
	io.WriteString(w, `{"name": "acme/util", "type": "library", "require": {"php": ">=8.1"}}`)
	zw.Close()

	do := func(method, path string, body []byte) *core.Response {
		req := core.NewRequest(method, path, bytes.NewReader(body))
		req.BaseURL = "https://registry.example/composer"
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := h.Handle(context.Background(), req)
		if err != nil {
			return h.ErrorResponse(context.Background(), req, err)
		}
		return resp
	}
	resp := do(http.MethodPut, "/packages/acme/util?version=v1.2.0", buf.Bytes())
	fmt.Println(resp.Status)
	resp = do(http.MethodGet, "/p2/acme/util.json", nil)
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(bytes.Contains(b, []byte(`"version_normalized":"1.2.0.0"`)))
	resp = do(http.MethodGet, "/p2/acme/nothing.json", nil)
	b, _ = io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(b))
	// Output:
	// 201
	// true
	// 404 {"status":"error","message":"not found: package acme/nothing"}
}

func ExampleNormalizeVersion() {
	for _, v := range []string{"1.2.3", "v2.0-beta1", "1.x-dev", "dev-main", "master"} {
		n, _ := composer.NormalizeVersion(v)
		fmt.Println(v, "→", n, composer.IsDev(n))
	}
	// Output:
	// 1.2.3 → 1.2.3.0 false
	// v2.0-beta1 → 2.0.0.0-beta1 false
	// 1.x-dev → 1.9999999.9999999.9999999-dev true
	// dev-main → dev-main true
	// master → dev-master true
}
