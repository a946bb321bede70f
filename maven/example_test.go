package maven_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/maven"
)

// A handler on the memory backend: a jar is deployed with a token, as
// mvn deploy sends it (Basic, the token as password), and the
// artifact-level maven-metadata.xml the server maintains lists its
// version.
func ExampleNew() {
	storage := core.NewStorage(memory.New(), core.StorageHooks{})
	provider, _ := core.NewDefaultAuthProvider(core.DefaultAuthOptions{
		Tokens: []core.StaticToken{{Token: "ci-token", UserID: "ci", Scopes: []string{"maven:artifact:com.example:*:write"}}},
	})
	auth, _ := core.NewAuthManager(core.AuthOptions{Provider: provider, AnonymousRead: []core.Protocol{core.ProtocolMaven}})
	h, err := maven.New(core.Deps{Storage: storage, Auth: auth}, maven.Config{})
	if err != nil {
		panic(err)
	}
	defer h.Close(context.Background())
	ctx := context.Background()

	put := core.NewRequest(http.MethodPut, "/com/example/app/1.0/app-1.0.jar", strings.NewReader("jar bytes"))
	put.Header.Set("Authorization", "Basic "+basicAuth("ci", "ci-token"))
	resp, err := h.Handle(ctx, put)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Status)

	resp, err = h.Handle(ctx, core.NewRequest(http.MethodGet, "/com/example/app/maven-metadata.xml", nil))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(strings.Contains(string(b), "<release>1.0</release>"))
	// Output:
	// 201
	// true
}

func basicAuth(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func ExampleParseCoordinates() {
	c, _ := maven.ParseCoordinates("org/apache/maven/plugins/maven-jar-plugin/3.3.0/maven-jar-plugin-3.3.0-sources.jar")
	fmt.Println(c.Group, c.Artifact, c.Version)
	f, _ := maven.ParseFileName(c.Artifact, c.Version, c.File)
	fmt.Println(f.Classifier, f.Extension)
	_, err := maven.ParseCoordinates("com/example/../../etc/1.0/passwd")
	fmt.Println(err != nil)
	// Output:
	// org.apache.maven.plugins maven-jar-plugin 3.3.0
	// sources jar
	// true
}

func ExampleArtifactScope() {
	fmt.Println(maven.ArtifactScope("com.example", "app", core.ActionWrite))
	// Output: maven:artifact:com.example:app:write
}
