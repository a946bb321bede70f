package upstream_test

import (
	"context"
	"fmt"

	"github.com/smartregistry/smartregistry/core"
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
