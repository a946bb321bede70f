package smartregistry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// show serves one GET through h and prints the path, the status and the
// OCI challenge or the body.
func show(h http.Handler, path string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://registry.example.com"+path, nil))
	out := rec.Header().Get("WWW-Authenticate")
	if out == "" {
		out = strings.TrimSpace(rec.Body.String())
	}
	fmt.Println(path, rec.Code, out)
}

// The registry beside an application's own routes, under /registry: the
// base paths include the prefix, and the mux sends /registry/ to the
// registry. OCI clients always connect to /v2/ at the host root, so that
// goes to the registry too. A path below no base path gets a 404 that
// names them, unlike a missing package.
func Example_mountUnderPrefix() {
	cfg := smartregistry.Config{Storage: smartregistry.StorageConfig{Backend: memory.New()}, Logger: quietLogger()}
	cfg.Auth.AnonymousRead = []core.Protocol{core.ProtocolNPM}
	cfg.OCI.Enabled, cfg.OCI.BasePath = true, "/registry/oci"
	cfg.NPM.Enabled, cfg.NPM.BasePath = true, "/registry/npm"
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.Handle("/registry/", reg)
	mux.Handle("/v2/", reg)

	show(mux, "/healthz")
	show(mux, "/v2/")
	show(mux, "/registry/npm/left-pad")
	show(mux, "/registry/maven/x")
	// Output:
	// /healthz 200 ok
	// /v2/ 401 Bearer realm="http://registry.example.com/registry/oci/token",service="smartregistry"
	// /registry/npm/left-pad 404 {"error":"package left-pad not found"}
	// /registry/maven/x 404 {"error":"not found: no registry protocol is mounted at \"/registry/maven/x\"; mounted base paths: /registry/npm (npm), /registry/oci (oci), /v2 (oci)"}
}

// The registry behind http.StripPrefix, with its default base paths
// (/oci, /npm): it takes the prefix from the original request for the
// URLs it generates. Requests at /v2/ show no prefix, so OCI's
// RegistryURL names its public URL for the token realm.
func Example_stripPrefix() {
	cfg := smartregistry.Config{Storage: smartregistry.StorageConfig{Backend: memory.New()}, Logger: quietLogger()}
	cfg.OCI.Enabled, cfg.OCI.RegistryURL = true, "https://registry.example.com/registry/oci"
	cfg.NPM.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", reg))
	mux.Handle("/v2/", reg)

	show(mux, "/v2/")
	show(mux, "/registry/oci/v2/")
	show(mux, "/registry/maven/x")
	// Output:
	// /v2/ 401 Bearer realm="https://registry.example.com/registry/oci/token",service="smartregistry"
	// /registry/oci/v2/ 401 Bearer realm="https://registry.example.com/registry/oci/token",service="smartregistry"
	// /registry/maven/x 404 {"error":"not found: no registry protocol is mounted at \"/maven/x\"; mounted base paths: /npm (npm), /oci (oci), /v2 (oci)"}
}
