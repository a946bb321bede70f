package pypi_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/pypi"
)

// A handler on the memory backend, asked for the simple index as pip asks
// for it (PEP 691 JSON).
func ExampleNew() {
	storage := core.NewStorage(memory.New(), core.StorageHooks{})
	provider, _ := core.NewDefaultAuthProvider(core.DefaultAuthOptions{})
	auth, _ := core.NewAuthManager(core.AuthOptions{Provider: provider, AnonymousRead: []core.Protocol{core.ProtocolPyPI}})
	h, err := pypi.New(core.Deps{Storage: storage, Auth: auth}, pypi.Config{})
	if err != nil {
		panic(err)
	}
	req := &core.RequestContext{Method: http.MethodGet, Path: "/simple/", Actor: &core.Actor{},
		Header: http.Header{"Accept": {pypi.ContentTypeJSON}}, BaseURL: "https://registry.example/pypi"}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	// Output: 200 application/vnd.pypi.simple.v1+json
}

func ExampleNormalizeName() {
	fmt.Println(pypi.NormalizeName("My_Pkg"), pypi.NormalizeName("my.pkg"), pypi.NormalizeName("MY--PKG"))
	// Output: my-pkg my-pkg my-pkg
}

func ExampleParseFilename() {
	f, _ := pypi.ParseFilename("my_pkg-1.0rc1-py3-none-any.whl")
	fmt.Println(f.Project, f.Version, f.Type, f.PythonTag)
	_, err := pypi.ParseFilename("../evil-1.0.tar.gz")
	fmt.Println(err != nil)
	// Output:
	// my_pkg 1.0rc1 bdist_wheel py3
	// true
}

func ExampleParseVersion() {
	v, _ := pypi.ParseVersion("1.0-Alpha.1")
	fmt.Println(v, v.Prerelease())
	// Output: 1.0a1 true
}
