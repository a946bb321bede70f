package oci_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
	"github.com/smartregistry/smartregistry/oci"
)

// TestE2EOCIUpstream: crane (and skopeo) pull, through our example server,
// images that only its upstreams (two more example servers, auth on, the
// images pushed there with crane) hold, on the filesystem.
func TestE2EOCIUpstream(t *testing.T) { ociUpstreamScenario(t, e2etest.Options{}) }

// TestE2EOCIUpstreamS3 is the same with our server's cache on MinIO.
func TestE2EOCIUpstreamS3(t *testing.T) { ociUpstreamScenario(t, e2etest.OnS3(t)) }

func ociUpstreamScenario(t *testing.T, opts e2etest.Options) {
	crane := e2etest.RequireTool(t, "crane")
	skopeo := e2etest.RequireTool(t, "skopeo")
	public := e2etest.StartServer(t, e2etest.Options{})  // everything but acme/*, asked with HTTP Basic
	private := e2etest.StartServer(t, e2etest.Options{}) // acme/* only, asked with a Bearer token
	plain := e2etest.Unique("up/plain")
	scoped := e2etest.Unique("acme/app")

	// The publisher's crane is logged in to both upstreams.
	pub := newClient(t)
	pub.run(crane, "auth", "login", public.Host, "-u", public.AdminUser, "-p", public.AdminPassword)
	pub.run(crane, "auth", "login", private.Host, "-u", private.AdminUser, "-p", private.AdminPassword)
	layer := func(name string, size int) string {
		p := filepath.Join(pub.dir, name+".tar")
		writeLayer(t, p, name+".bin", size)
		return p
	}
	pub.run(crane, "append", "-f", layer("one", 200<<10), "-f", layer("two", 1<<20), "-t", public.Host+"/"+plain+":v1")
	pub.run(crane, "append", "-f", layer("scoped", 100<<10), "-t", private.Host+"/"+scoped+":v1")
	pub.run(crane, "append", "-f", layer("squat", 100<<10), "-t", public.Host+"/"+scoped+":v1") // never asked for
	// A two-platform index.
	for _, arch := range []string{"amd64", "arm64"} {
		ref := public.Host + "/" + plain + ":" + arch
		pub.run(crane, "append", "-f", layer(arch, 300<<10), "-t", ref)
		pub.run(crane, "mutate", ref, "--set-platform", "linux/"+arch, "-t", ref)
	}
	pub.run(crane, "index", "append", "-m", public.Host+"/"+plain+":amd64", "-m", public.Host+"/"+plain+":arm64",
		"-t", public.Host+"/"+plain+":multi")
	digest := func(c *client, ref string) string { return strings.TrimSpace(c.run(crane, "digest", ref)) }
	plainV1 := digest(pub, public.Host+"/"+plain+":v1")
	scopedV1 := digest(pub, private.Host+"/"+scoped+":v1")
	amd64 := digest(pub, public.Host+"/"+plain+":amd64")
	arm64 := digest(pub, public.Host+"/"+plain+":arm64")

	// A third upstream, in this process, whose layer breaks off once.
	broken := brokenRegistry(t, "broken/img")
	brokenSrv := httptest.NewServer(broken)
	t.Cleanup(brokenSrv.Close)

	// Each upstream URL is the registry host a client would be pointed at
	// (an example server serves the API at /v2/ at its root, not below
	// /oci): ours asks <URL>/v2/<name>/....
	const ttl = 2 * time.Second
	opts.Env = append(opts.Env, e2etest.UpstreamEnv("OCI", ttl,
		private.TokenUpstream("", "", "acme/*"),
		public.BasicUpstream("", "!acme/*;!broken/*"),
		brokenSrv.URL+"#broken/*")...)
	ours := e2etest.StartServer(t, opts)
	at := func(name string) string { return ours.Host + "/" + name }
	login := func() *client {
		c := newClient(t)
		c.run(crane, "auth", "login", ours.Host, "-u", ours.AdminUser, "-p", ours.AdminPassword)
		return c
	}

	// Both names from ours, each from its own upstream.
	c := login()
	start := time.Now() // the v1 tag is fetched after this
	c.run(crane, "pull", at(plain)+":v1", filepath.Join(c.dir, "plain.tar"))
	c.run(crane, "pull", "--format", "oci", at(scoped)+":v1", filepath.Join(c.dir, "scoped"))
	if got := digest(c, at(plain)+":v1"); got != plainV1 {
		t.Fatalf("ours serves %s:v1 as %s, the upstream as %s", plain, got, plainV1)
	}
	if got := digest(c, at(scoped)+":v1"); got != scopedV1 {
		t.Fatalf("ours serves %s:v1 as %s, the private upstream as %s", scoped, got, scopedV1)
	}
	if strings.Contains(public.Logs(), "method=GET path=/v2/"+scoped+"/manifests/") { // the publisher only pushed there
		t.Fatal("the squatter on the public upstream was asked for an acme/ name")
	}
	if tags := strings.Fields(c.run(crane, "ls", at(plain))); strings.Join(tags, " ") != "amd64 arm64 multi v1" {
		t.Fatalf("crane ls through ours: %v", tags)
	}
	// One platform of the index: only its manifest is fetched.
	if m := c.run(crane, "manifest", at(plain)+":multi"); !strings.Contains(m, oci.MediaTypeImageIndex) {
		t.Fatalf("the index is not served as it is: %s", m)
	}
	c.run(crane, "pull", "--platform", "linux/arm64", at(plain)+":multi", filepath.Join(c.dir, "arm64.tar"))

	// A new push to the tag upstream shows once the TTL has passed.
	pub.run(crane, "append", "-f", layer("three", 100<<10), "-t", public.Host+"/"+plain+":v1")
	plainV2 := digest(pub, public.Host+"/"+plain+":v1")
	if got := digest(c, at(plain)+":v1"); got != plainV1 && time.Since(start) < ttl {
		t.Fatalf("the tag changed within the TTL: %s", got)
	}
	for deadline := time.Now().Add(30 * time.Second); digest(c, at(plain)+":v1") != plainV2; {
		if time.Now().After(deadline) {
			t.Fatalf("%s:v1 is still not %s after the TTL", plain, plainV2)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.run(crane, "pull", at(plain)+":v1", filepath.Join(c.dir, "plain2.tar"))

	// Both upstreams stop: pulls go on from the cache, with fresh clients.
	public.Stop(t)
	private.Stop(t)
	c = login()
	c.run(crane, "pull", at(plain)+":v1", filepath.Join(c.dir, "plain.tar"))
	c.run(crane, "pull", "--platform", "linux/arm64", at(plain)+":multi", filepath.Join(c.dir, "arm64.tar"))
	c.run(skopeo, "--insecure-policy", "copy", "--src-tls-verify=false", "--src-creds", ours.AdminUser+":"+ours.AdminPassword,
		"docker://"+at(scoped)+":v1", "dir:"+filepath.Join(c.dir, "skopeo-scoped"))
	if got := digest(c, at(plain)+"@"+arm64); got != arm64 {
		t.Fatalf("the arm64 manifest from the cache: %s", got)
	}
	// The other platform was never fetched, so it is not there now.
	if out, err := c.try(crane, "manifest", at(plain)+"@"+amd64); err == nil {
		t.Fatalf("the amd64 manifest, never asked for, was cached: %s", out)
	}

	// A layer cut off by the upstream fails the pull and is not cached;
	// once the upstream sends it whole, the pull works.
	if out, err := c.try(crane, "pull", at("broken/img")+":v1", filepath.Join(c.dir, "broken.tar")); err == nil {
		t.Fatalf("a pull of a truncated layer worked: %s", out)
	}
	if ours.DataDir != "" {
		blob := filepath.Join(ours.DataDir, "oci", "blobs", "sha256", broken.layerHex[:2], broken.layerHex, "data")
		if _, err := os.Stat(blob); !os.IsNotExist(err) {
			t.Fatalf("the truncated layer was cached: %v", err)
		}
	}
	broken.cut.Store(false)
	hits := broken.layerHits.Load()
	c.run(crane, "pull", at("broken/img")+":v1", filepath.Join(c.dir, "broken.tar"))
	if broken.layerHits.Load() == hits { // on S3 too: the layer came from the upstream, not a cache
		t.Fatal("the layer was not fetched again after the truncated download")
	}
}

// brokenUpstream is a registry of one image (repository name, tag v1, one
// layer) whose layer breaks off halfway while cut is set.
type brokenUpstream struct {
	name      string
	manifest  []byte
	blobs     map[string][]byte
	layerHex  string
	cut       atomic.Bool
	layerHits atomic.Int32
}

func brokenRegistry(t *testing.T, name string) *brokenUpstream {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	data := bytes.Repeat([]byte("broken layer "), 20000)
	if err := tw.WriteHeader(&tar.Header{Name: "broken.txt", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	hexOf := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	layer := gz.Bytes()
	config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hexOf(tarBuf.Bytes())}}})
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeDockerManifest,
		"config": map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": "sha256:" + hexOf(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer), "digest": "sha256:" + hexOf(layer)}}})
	b := &brokenUpstream{name: name, manifest: manifest, layerHex: hexOf(layer),
		blobs: map[string][]byte{"sha256:" + hexOf(config): config, "sha256:" + hexOf(layer): layer}}
	b.cut.Store(true)
	return b
}

func (b *brokenUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/v2/" + b.name + "/"
	switch rest := strings.TrimPrefix(r.URL.Path, prefix); {
	case r.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case !strings.HasPrefix(r.URL.Path, prefix):
		http.NotFound(w, r)
	case rest == "manifests/v1" || rest == "manifests/sha256:"+hexString(b.manifest):
		w.Header().Set("Content-Type", oci.MediaTypeDockerManifest)
		w.Header().Set("Docker-Content-Digest", "sha256:"+hexString(b.manifest))
		w.Write(b.manifest)
	case strings.HasPrefix(rest, "blobs/"):
		body, ok := b.blobs[strings.TrimPrefix(rest, "blobs/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		layer := strings.HasSuffix(rest, b.layerHex)
		if layer {
			b.layerHits.Add(1)
		}
		handlertest.WriteBody(w, body, layer && b.cut.Load())
	default:
		http.NotFound(w, r)
	}
}

func hexString(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
