package oci_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/oci"
)

// client runs a command-line client with its own HOME and DOCKER_CONFIG.
type client struct {
	t   testing.TB
	env []string
	dir string
}

func newClient(t testing.TB) *client {
	dir := t.TempDir()
	return &client{t: t, dir: dir, env: append(os.Environ(), "HOME="+dir, "DOCKER_CONFIG="+filepath.Join(dir, ".docker"))}
}

// run runs the command and returns its standard output; a failure fails
// the test with the command's output.
func (c *client) run(name string, args ...string) string {
	c.t.Helper()
	out, err := c.try(name, args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// try runs the command and returns its output and error.
func (c *client) try(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Dir = c.env, c.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// writeLayer writes a tarball holding one file of size random bytes.
func writeLayer(t testing.TB, path, file string, size int) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func uniqueRepo(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// TestCraneAndSkopeo drives crane and skopeo against the example server,
// on the filesystem and on S3 (MinIO; skipped without an endpoint unless
// tools are required): push of a multi-layer image and of a multi-arch
// index, ls, digest, pull, copy across repositories, skopeo copy both
// ways, delete.
func TestCraneAndSkopeo(t *testing.T) {
	crane := e2etest.RequireTool(t, "crane")
	skopeo := e2etest.RequireTool(t, "skopeo")
	for _, backend := range []struct {
		name string
		opts e2etest.Options
	}{
		{"filesystem", e2etest.Options{}},
		{"s3", e2etest.Options{S3: true}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			craneAndSkopeo(t, crane, skopeo, e2etest.StartServer(t, backend.opts))
		})
	}
}

func craneAndSkopeo(t *testing.T, crane, skopeo string, srv *e2etest.Server) {
	c := newClient(t)
	host := srv.Host
	repo := host + "/" + uniqueRepo("e2e/team/app")

	if out, err := c.try(crane, "ls", repo); err == nil {
		t.Fatalf("crane ls without login succeeded: %s", out)
	}
	c.run(crane, "auth", "login", host, "-u", srv.AdminUser, "-p", srv.AdminPassword)

	l1, l2 := filepath.Join(c.dir, "l1.tar"), filepath.Join(c.dir, "l2.tar")
	writeLayer(t, l1, "one.bin", 300<<10)
	writeLayer(t, l2, "two.bin", 2<<20)
	// v1 is a Docker schema 2 image; oci an OCI image; multi an OCI index
	// of two platforms; dlist a Docker manifest list.
	c.run(crane, "append", "-f", l1, "-f", l2, "-t", repo+":v1")
	c.run(crane, "append", "--oci-empty-base", "-f", l1, "-f", l2, "-t", repo+":oci")
	c.run(crane, "mutate", repo+":v1", "--set-platform", "linux/amd64", "-t", repo+":amd64")
	c.run(crane, "mutate", repo+":v1", "--set-platform", "linux/arm64", "-t", repo+":arm64")
	c.run(crane, "index", "append", "-m", repo+":amd64", "-m", repo+":arm64", "-t", repo+":multi")
	c.run(crane, "index", "append", "--docker-empty-base", "-m", repo+":amd64", "-m", repo+":arm64", "-t", repo+":dlist")
	for tag, mediaType := range map[string]string{
		"v1": oci.MediaTypeDockerManifest, "oci": oci.MediaTypeImageManifest,
		"multi": oci.MediaTypeImageIndex, "dlist": oci.MediaTypeDockerList,
	} {
		if m := c.run(crane, "manifest", repo+":"+tag); !strings.Contains(m, `"mediaType":"`+mediaType+`"`) {
			t.Errorf("%s is not a %s: %s", tag, mediaType, m)
		}
	}

	tags := strings.Fields(c.run(crane, "ls", repo))
	for _, want := range []string{"v1", "oci", "amd64", "arm64", "multi", "dlist"} {
		if !slices.Contains(tags, want) {
			t.Errorf("crane ls = %v, want %s in it", tags, want)
		}
	}
	for _, tag := range []string{"v1", "oci", "multi", "dlist"} {
		manifest := c.run(crane, "manifest", repo+":"+tag)
		sum := sha256.Sum256([]byte(manifest))
		if got, want := strings.TrimSpace(c.run(crane, "digest", repo+":"+tag)), "sha256:"+hex.EncodeToString(sum[:]); got != want {
			t.Errorf("crane digest %s = %s, manifest hashes to %s", tag, got, want)
		}
	}
	if m := c.run(crane, "manifest", repo+":multi"); !strings.Contains(m, "arm64") || !strings.Contains(m, "index") {
		t.Errorf("multi-arch index: %s", m)
	}

	c.run(crane, "pull", repo+":v1", filepath.Join(c.dir, "v1.tar"))
	c.run(crane, "pull", "--format", "oci", repo+":multi", filepath.Join(c.dir, "multi-layout"))
	c.run(crane, "export", repo+":v1", filepath.Join(c.dir, "fs.tar"))
	if st, err := os.Stat(filepath.Join(c.dir, "fs.tar")); err != nil || st.Size() < 2<<20 {
		t.Errorf("crane export: %v", err)
	}

	copied := host + "/" + uniqueRepo("e2e/copy")
	c.run(crane, "copy", repo+":multi", copied+":multi")
	if a, b := c.run(crane, "digest", repo+":multi"), c.run(crane, "digest", copied+":multi"); a != b {
		t.Errorf("crane copy changed the digest: %s vs %s", a, b)
	}
	copiedPath := strings.TrimPrefix(copied, host)
	if !strings.Contains(srv.Logs(), "method=POST path=/v2"+copiedPath+"/blobs/uploads/ protocol=oci status=201") {
		t.Errorf("crane copy did not mount blobs across repositories (no POST ... 201 in the log)")
	}
	c.run(crane, "pull", copied+":multi", filepath.Join(c.dir, "copied.tar"), "--platform", "linux/arm64")

	creds := srv.AdminUser + ":" + srv.AdminPassword
	viaSkopeo := host + "/" + uniqueRepo("e2e/skopeo")
	for _, tag := range []string{"v1", "oci", "multi"} {
		// dir: keeps manifests as they are (oci: would convert Docker ones).
		layout := "dir:" + filepath.Join(c.dir, "skopeo-"+tag)
		c.run(skopeo, "--insecure-policy", "copy", "--all", "--src-tls-verify=false", "--src-creds", creds,
			"docker://"+repo+":"+tag, layout)
		c.run(skopeo, "--insecure-policy", "copy", "--all", "--dest-tls-verify=false", "--dest-creds", creds,
			layout, "docker://"+viaSkopeo+":"+tag)
		if tag == "multi" {
			// skopeo 1.9 re-encodes an index (it drops the descriptors'
			// artifactType): the children must survive unchanged.
			got := c.run(crane, "manifest", viaSkopeo+":"+tag)
			for _, child := range []string{"amd64", "arm64"} {
				if d := strings.TrimSpace(c.run(crane, "digest", repo+":"+child)); !strings.Contains(got, d) {
					t.Errorf("skopeo copy of the index lost %s (%s): %s", child, d, got)
				}
			}
			continue
		}
		if a, b := c.run(crane, "digest", repo+":"+tag), c.run(crane, "digest", viaSkopeo+":"+tag); a != b {
			t.Errorf("skopeo round trip of %s changed the digest: %s vs %s", tag, a, b)
		}
	}
	c.run(skopeo, "inspect", "--tls-verify=false", "--creds", creds, "docker://"+viaSkopeo+":v1")

	dg := strings.TrimSpace(c.run(crane, "digest", repo+":v1"))
	c.run(crane, "delete", repo+"@"+dg)
	if out, err := c.try(crane, "manifest", repo+":v1"); err == nil {
		t.Errorf("manifest still served after crane delete: %s", out)
	}

	// The catalog through the token flow (crane catalog asks for
	// registry:catalog:*) and with Basic credentials.
	listed := strings.Fields(c.run(crane, "catalog", host))
	for _, r := range []string{repo, copied, viaSkopeo} {
		if name := strings.TrimPrefix(r, host+"/"); !slices.Contains(listed, name) {
			t.Errorf("crane catalog %v lacks %s", listed, name)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/_catalog", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(srv.AdminUser, srv.AdminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var catalog struct{ Repositories []string }
	if err := json.NewDecoder(resp.Body).Decode(&catalog); err != nil {
		t.Fatalf("catalog: %v", err)
	}
	for _, r := range []string{repo, copied, viaSkopeo} {
		if name := strings.TrimPrefix(r, host+"/"); !slices.Contains(catalog.Repositories, name) {
			t.Errorf("catalog %v lacks %s", catalog.Repositories, name)
		}
	}
}
