package maven_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/maven"
)

// TestConcurrentDeploys deploys 20 versions of one artifact at once (jar,
// pom and their sha1, then the client's maven-metadata.xml, as mvn does)
// through two Registry instances on one storage, as two registry
// processes on one bucket would: every version lands in
// maven-metadata.xml, as read through either. On memory and on MinIO
// (two S3 clients on one bucket).
func TestConcurrentDeploys(t *testing.T) {
	backends := map[string]func(t *testing.T) [2]core.Backend{
		"memory": func(*testing.T) [2]core.Backend { b := memory.New(); return [2]core.Backend{b, b} },
		"s3": func(t *testing.T) [2]core.Backend {
			opts := e2etest.S3Options(t, "smartregistry-maven-test", "race")
			return [2]core.Backend{e2etest.S3Backend(t, opts), e2etest.S3Backend(t, opts)}
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			bs := open(t)
			var regs [2]*smartregistry.Registry
			for i, b := range bs {
				r, err := smartregistry.New(smartregistry.Config{
					Storage:           smartregistry.StorageConfig{Backend: b},
					Auth:              smartregistry.AuthConfig{Tokens: []core.StaticToken{{Token: "t", UserID: "ci"}}},
					Logger:            slog.New(slog.DiscardHandler),
					DisableRequestLog: true,
					Maven:             maven.Config{ProtocolConfig: core.ProtocolConfig{Enabled: true}},
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Close(context.Background()) })
				regs[i] = r
			}
			do := func(reg *smartregistry.Registry, method, path, body string) (int, string) {
				req := core.NewRequest(method, "/maven"+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer t")
				resp := reg.HandleRequest(ctx, req)
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.Status, string(b)
			}
			const n = 20
			var wg sync.WaitGroup
			errs := make(chan error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					reg, v := regs[i%2], fmt.Sprintf("1.%d", i)
					base := "/org/race/app/" + v + "/app-" + v
					for _, f := range []struct{ path, body string }{
						{base + ".jar", "jar " + v}, {base + ".pom", "pom " + v},
						{"/org/race/app/maven-metadata.xml", "<metadata><groupId>org.race</groupId><artifactId>app</artifactId>" +
							"<versioning><versions><version>" + v + "</version></versions></versioning></metadata>"},
					} {
						if st, body := do(reg, http.MethodPut, f.path, f.body); st != http.StatusCreated {
							errs <- fmt.Errorf("PUT %s: %d %s", f.path, st, body)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for _, reg := range regs {
				st, md := do(reg, http.MethodGet, "/org/race/app/maven-metadata.xml", "")
				if st != http.StatusOK {
					t.Fatalf("metadata: %d %s", st, md)
				}
				for i := range n {
					if !strings.Contains(md, fmt.Sprintf("<version>1.%d</version>", i)) {
						t.Errorf("version 1.%d lost:\n%s", i, md)
					}
				}
			}
		})
	}
}
