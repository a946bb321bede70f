package smartregistry_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// npmTarball builds the tarball of a tiny npm package.
func npmTarball(name, version string) []byte {
	pj, _ := json.Marshal(map[string]string{"name": name, "version": version})
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(pj))})
	tw.Write(pj)
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// npmPublish is the body "npm publish" sends for a tarball.
func npmPublish(name, version string, tgz []byte) []byte {
	sum := sha512.Sum512(tgz)
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	b, _ := json.Marshal(map[string]any{
		"name": name, "dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{version: map[string]any{"name": name, "version": version,
			"dist": map[string]string{"integrity": integrity}}},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}},
	})
	return b
}

// A per-tenant quota and an audit log as storage hooks. The hooks see what
// each object is (an artifact, a package's metadata, an index, a temporary
// upload), its package and version, and the actor's tenant: the quota
// counts published artifacts only, and refuses with core.ErrTooLarge, which
// the client receives as 413 with the hook's message.
func Example_quotaAndAuditHooks() {
	var mu sync.Mutex
	used := map[string]int64{} // tenant → bytes of artifacts
	var quota int64
	hooks := core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			if ev.Kind != core.KindArtifact || ev.Actor == nil {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			if used[ev.Actor.OrgID]+ev.Size > quota {
				return fmt.Errorf("%w: tenant %s is over its quota", core.ErrTooLarge, ev.Actor.OrgID)
			}
			return nil
		},
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			if ev.Kind != core.KindArtifact {
				return
			}
			mu.Lock()
			used[ev.Actor.OrgID] += ev.Size
			mu.Unlock()
			fmt.Printf("audit: %s published %s %s@%s\n", ev.Actor.UserID, ev.Protocol, ev.Package, ev.Version)
		},
	}
	cfg := smartregistry.Config{
		Storage:      smartregistry.StorageConfig{Backend: memory.New()},
		StorageHooks: hooks,
		Logger:       quietLogger(),
	}
	cfg.Auth.Tokens = []core.StaticToken{{Token: "ann-token", UserID: "ann", OrgID: "web"}}
	cfg.NPM.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())

	quota = int64(len(npmTarball("left-pad", "1.0.0")))*2 + 10 // room for two tarballs
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		body := npmPublish("left-pad", v, npmTarball("left-pad", v))
		req := core.NewRequest(http.MethodPut, "/npm/left-pad", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer ann-token")
		resp := reg.HandleRequest(context.Background(), req)
		var msg struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&msg)
		resp.Body.Close()
		if msg.Error == "" {
			fmt.Println(v, resp.Status)
		} else {
			fmt.Println(v, resp.Status, msg.Error)
		}
	}
	// Output:
	// audit: ann published npm left-pad@1.0.0
	// 1.0.0 201
	// audit: ann published npm left-pad@1.0.1
	// 1.0.1 201
	// 1.0.2 413 put refused: too large: tenant web is over its quota
}
