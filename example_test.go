package smartregistry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// quietLogger keeps the examples' output to what they print.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func ExampleNew() {
	cfg := smartregistry.Config{
		Storage: smartregistry.StorageConfig{Backend: memory.New()},
		Auth: smartregistry.AuthConfig{
			Users:         []core.UserConfig{{Username: "admin", Password: "change me"}},
			Tokens:        []core.StaticToken{{Token: "ci-token", UserID: "admin"}},
			AnonymousRead: []core.Protocol{core.ProtocolNPM},
		},
		Logger: quietLogger(),
	}
	cfg.NPM.Enabled = true  // at /npm
	cfg.PyPI.Enabled = true // at /pypi
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())
	fmt.Println("npm:", reg.NPM() != nil, "pypi:", reg.PyPI() != nil, "oci:", reg.OCI() != nil)

	// New names the field at fault.
	cfg.PyPI.BasePath = "/npm"
	_, err = smartregistry.New(cfg)
	fmt.Println(err)
	// Output:
	// npm: true pypi: true oci: false
	// config PyPI.BasePath: "/npm" is already used by NPM
}

// A Registry is an http.Handler. Mount it at the root of a server: it
// routes by base path itself and needs the request path as the client
// sent it (http.ServeMux would clean "/npm/@scope%2fpkg").
func ExampleRegistry_ServeHTTP() {
	cfg := smartregistry.Config{
		Storage: smartregistry.StorageConfig{Backend: memory.New()},
		Auth:    smartregistry.AuthConfig{AnonymousRead: []core.Protocol{core.ProtocolNPM}},
		Logger:  quietLogger(),
	}
	cfg.NPM.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())

	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprintln(w, "ok")
			return
		}
		reg.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(root)
	defer srv.Close()

	for _, path := range []string{"/healthz", "/npm/@example%2fmissing", "/elsewhere"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode)
	}
	// Output:
	// /healthz 200
	// /npm/@example%2fmissing 404
	// /elsewhere 404
}

// HandleRequest serves a request without net/http, e.g. from another
// framework or a serverless function. The caller closes the body.
func ExampleRegistry_HandleRequest() {
	cfg := smartregistry.Config{
		Storage: smartregistry.StorageConfig{Backend: memory.New()},
		Auth:    smartregistry.AuthConfig{Tokens: []core.StaticToken{{Token: "ci-token", UserID: "ci"}}},
		Logger:  quietLogger(),
	}
	cfg.NPM.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())

	resp := reg.HandleRequest(context.Background(), &core.RequestContext{
		Method:  http.MethodGet,
		Path:    "/npm/left-pad", // the full path, percent-encoded
		Header:  http.Header{"Authorization": {"Bearer ci-token"}},
		BaseURL: "https://registry.example.com/npm",
	})
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type") != "")

	resp = reg.HandleRequest(context.Background(), &core.RequestContext{Method: http.MethodGet, Path: "/maven/x"})
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output:
	// 404 true
	// 404 {"error":"not found: no registry protocol is mounted at \"/maven/x\"; mounted base paths: /npm (npm)"}
}
