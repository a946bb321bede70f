package rubygems_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/rubygems"
)

// A handler on the memory backend, asked for the compact index's
// /versions as bundler asks for it.
func ExampleNew() {
	storage := core.NewStorage(memory.New(), core.StorageHooks{})
	provider, _ := core.NewDefaultAuthProvider(core.DefaultAuthOptions{})
	auth, _ := core.NewAuthManager(core.AuthOptions{Provider: provider, AnonymousRead: []core.Protocol{core.ProtocolRubyGems}})
	h, err := rubygems.New(core.Deps{Storage: storage, Auth: auth}, rubygems.Config{})
	if err != nil {
		panic(err)
	}
	req := &core.RequestContext{Method: http.MethodGet, Path: "/names", Header: http.Header{}, Actor: &core.Actor{},
		BaseURL: "https://registry.example/rubygems"}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s %q\n", resp.Status, resp.Header.Get("Accept-Ranges"), body)
	// Output: 200 bytes "---\n"
}

func ExampleCompareVersions() {
	fmt.Println(rubygems.CompareVersions("1.10.0", "1.9.0"), rubygems.CompareVersions("2.0.0.pre", "2.0.0"),
		rubygems.CompareVersions("1.0", "1.0.0"))
	// Output: 1 -1 0
}

func ExampleParseSpec() {
	spec, err := rubygems.ParseSpec([]byte(`--- !ruby/object:Gem::Specification
name: demo
version: !ruby/object:Gem::Version
  version: 1.2.0
platform: ruby
dependencies:
- !ruby/object:Gem::Dependency
  name: rack
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '2.0'
  type: :runtime
`), rubygems.SpecLimits{})
	fmt.Println(spec.FullName(), spec.Dependencies, err)
	_, err = rubygems.ParseSpec([]byte("--- !ruby/object:Gem::Installer\nname: x\n"), rubygems.SpecLimits{})
	fmt.Println(err)
	// Output:
	// demo-1.2.0 [{rack [>= 2.0]}] <nil>
	// invalid argument: gemspec: tag "!ruby/object:Gem::Installer" is not allowed
}
