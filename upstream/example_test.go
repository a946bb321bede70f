package upstream_test

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/upstream"
)

// Two npm upstreams: the company mirror for its own scope, asked first,
// and the public registry for everything but that scope.
func ExampleNewStatic() {
	provider, err := upstream.NewStatic(map[core.Protocol][]core.Upstream{
		core.ProtocolNPM: {
			{Name: "public", URL: "https://registry.npmjs.org", Priority: 10, Exclude: []string{"@acme/*"}},
			{Name: "mirror", URL: "https://npm.acme.internal", Priority: 1, Include: []string{"@acme/*"}, Token: "secret"},
		},
	})
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"left-pad", "@acme/ui"} {
		for _, u := range provider.Upstreams(context.Background(), core.ProtocolNPM, name) {
			fmt.Println(name, "→", u.Name, u.URL)
		}
	}
	fmt.Println(len(provider.Upstreams(context.Background(), core.ProtocolPyPI, "requests")), "PyPI upstreams")
	// Output:
	// left-pad → public https://registry.npmjs.org
	// @acme/ui → mirror https://npm.acme.internal
	// 0 PyPI upstreams
}

// A client caches an upstream's document: the second request is served
// from storage without asking the upstream.
func ExampleClient_Metadata() {
	hits := 0
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		fmt.Fprint(w, `{"name":"left-pad"}`)
	}))
	defer origin.Close()
	provider, _ := upstream.NewStatic(map[core.Protocol][]core.Upstream{
		core.ProtocolNPM: {{Name: "public", URL: origin.URL}},
	})
	client, err := upstream.New(upstream.Config{Protocol: core.ProtocolNPM, Provider: provider,
		Storage: core.NewStorage(memory.New(), core.StorageHooks{}), Policy: upstream.Policy{MetadataTTL: time.Minute}})
	if err != nil {
		panic(err)
	}
	for range 2 {
		doc, err := client.Metadata(context.Background(), upstream.MetadataRequest{
			Name: "left-pad", Key: "npm/upstream/left-pad/packument.json", Path: "/left-pad"})
		if err != nil {
			panic(err)
		}
		fmt.Println(string(doc.Body), "from", doc.Upstream)
	}
	fmt.Println(hits, "upstream request")
	// Output:
	// {"name":"left-pad"} from public
	// {"name":"left-pad"} from public
	// 1 upstream request
}

// An artifact is streamed from the upstream, checked against the digest
// the metadata promised, and kept for good.
func ExampleClient_Artifact() {
	tarball := []byte("not really a tarball")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(tarball)
	}))
	defer origin.Close()
	provider, _ := upstream.NewStatic(map[core.Protocol][]core.Upstream{
		core.ProtocolNPM: {{Name: "public", URL: origin.URL}},
	})
	client, _ := upstream.New(upstream.Config{Protocol: core.ProtocolNPM, Provider: provider,
		Storage: core.NewStorage(memory.New(), core.StorageHooks{})})
	sum := sha512.Sum512(tarball)
	digests, _ := upstream.ParseIntegrity("sha512-" + base64.StdEncoding.EncodeToString(sum[:]))
	a, err := client.Artifact(context.Background(), upstream.ArtifactRequest{Name: "left-pad",
		Key: "npm/upstream/left-pad/-/left-pad-1.0.0.tgz", Path: "/left-pad/-/left-pad-1.0.0.tgz",
		StagePrefix: "npm/uploads/", Digests: digests})
	if err != nil {
		panic(err)
	}
	defer a.Body.Close()
	b, err := io.ReadAll(a.Body)
	fmt.Println(string(b), err, a.Size)
	// Output:
	// not really a tarball <nil> 20
}

// A protocol handler builds its client from the core.Deps it was given:
// none when the registry proxies nothing, else one on deps' provider and
// storage with the protocol's policy.
func ExampleFromDeps() {
	deps := core.Deps{Storage: core.NewStorage(memory.New(), core.StorageHooks{})}
	client, err := upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolNPM})
	fmt.Println(client == nil, err)

	deps.Upstream, _ = upstream.NewStatic(map[core.Protocol][]core.Upstream{
		core.ProtocolNPM: {{Name: "public", URL: "https://registry.npmjs.org"}},
	})
	client, err = upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolNPM,
		Policy: upstream.Policy{MetadataTTL: time.Minute}})
	if err != nil {
		panic(err)
	}
	fmt.Println(client.Policy().MetadataTTL, len(client.Upstreams(context.Background(), "left-pad")))
	// Output:
	// true <nil>
	// 1m0s 1
}
