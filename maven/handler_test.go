package maven

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func hexOf(sum []byte) string { return hex.EncodeToString(sum) }

// TestReleaseFiles deploys a release with a classifier and checks
// downloads, checksums, validators, metadata, immutability and listings,
// request by request.
func TestReleaseFiles(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, Config{})
	const jar, src, pom = "jar bytes", "sources bytes", "<project/>"
	base := "/com/example/app/1.0/"
	e.deploy(ctx, base+"app-1.0.pom", pom)
	e.deploy(ctx, base+"app-1.0.jar", jar)
	e.deploy(ctx, base+"app-1.0-sources.jar", src)
	e.deploy(ctx, "/com/example/app/2.0/app-2.0.jar", "two")
	m5, s256, s512 := md5.Sum([]byte(jar)), sha256.Sum256([]byte(jar)), sha512.Sum512([]byte(jar))

	tests := []struct {
		name     string
		req      request
		status   int
		header   map[string]string
		body     string
		contains []string
	}{
		{name: "jar", req: request{method: "GET", path: base + "app-1.0.jar", token: adminToken}, status: 200, body: jar,
			header: map[string]string{"Content-Length": "9", "ETag": `"` + sha1Hex(jar) + `"`, "Content-Type": "application/java-archive"}},
		{name: "head jar", req: request{method: "HEAD", path: base + "app-1.0.jar", token: adminToken}, status: 200,
			header: map[string]string{"Content-Length": "9"}},
		{name: "sources", req: request{method: "GET", path: base + "app-1.0-sources.jar", token: adminToken}, status: 200, body: src},
		{name: "md5", req: request{method: "GET", path: base + "app-1.0.jar.md5", token: adminToken}, status: 200, body: hexOf(m5[:])},
		{name: "sha1", req: request{method: "GET", path: base + "app-1.0.jar.sha1", token: adminToken}, status: 200, body: sha1Hex(jar)},
		{name: "sha256", req: request{method: "GET", path: base + "app-1.0.jar.sha256", token: adminToken}, status: 200, body: hexOf(s256[:])},
		{name: "sha512", req: request{method: "GET", path: base + "app-1.0.jar.sha512", token: adminToken}, status: 200, body: hexOf(s512[:])},
		{name: "missing file", req: request{method: "GET", path: base + "app-1.0-javadoc.jar", token: adminToken}, status: 404},
		{name: "missing version", req: request{method: "GET", path: "/com/example/app/3.0/app-3.0.jar", token: adminToken}, status: 404},
		{name: "artifact metadata", req: request{method: "GET", path: "/com/example/app/maven-metadata.xml", token: adminToken}, status: 200,
			header: map[string]string{"Content-Type": "text/xml"},
			contains: []string{"<groupId>com.example</groupId>", "<artifactId>app</artifactId>", "<latest>2.0</latest>", "<release>2.0</release>",
				"<versions>\n      <version>1.0</version>\n      <version>2.0</version>\n    </versions>", "<lastUpdated>"}},
		{name: "reader may read", req: request{method: "GET", path: base + "app-1.0.jar", token: readerToken}, status: 200, body: jar},
		{name: "bearer", req: request{method: "GET", path: base + "app-1.0.jar", bearer: adminToken}, status: 200, body: jar},
		{name: "password", req: request{method: "GET", path: base + "app-1.0.jar", user: "alice", pass: "alice-password"}, status: 200, body: jar},
		{name: "anonymous", req: request{method: "GET", path: base + "app-1.0.jar"}, status: 401,
			header: map[string]string{"WWW-Authenticate": `Basic realm="maven"`}},
		{name: "wrong password", req: request{method: "GET", path: base + "app-1.0.jar", user: "alice", pass: "nope"}, status: 401},
		{name: "anonymous put", req: request{method: "PUT", path: base + "app-1.0-x.jar", body: "x"}, status: 401,
			header: map[string]string{"WWW-Authenticate": `Basic realm="maven"`}},
		{name: "reader may not write", req: request{method: "PUT", path: base + "app-1.0-x.jar", body: "x", token: readerToken}, status: 403},
		{name: "read-only token", req: request{method: "PUT", path: base + "app-1.0-x.jar", body: "x", token: readOnlyUser}, status: 403},
		{name: "writer of another artifact", req: request{method: "PUT", path: "/com/example/other/1.0/other-1.0.jar", body: "x", token: writerToken}, status: 403},
		{name: "same bytes again", req: request{method: "PUT", path: base + "app-1.0.jar", body: jar, token: adminToken}, status: 201},
		{name: "release redeploy", req: request{method: "PUT", path: base + "app-1.0.jar", body: "other", token: adminToken}, status: 409,
			contains: []string{"409 conflict: release files are immutable"}},
		{name: "matching checksum", req: request{method: "PUT", path: base + "app-1.0.jar.md5", body: hexOf(m5[:]) + "  app-1.0.jar\n", token: adminToken}, status: 201},
		{name: "mismatching checksum", req: request{method: "PUT", path: base + "app-1.0.jar.sha1", body: sha1Hex("other"), token: adminToken}, status: 400,
			contains: []string{"checksum does not match"}},
		{name: "checksum of nothing", req: request{method: "PUT", path: base + "app-1.0-x.jar.sha1", body: sha1Hex("x"), token: adminToken}, status: 404},
		{name: "post", req: request{method: "POST", path: base + "app-1.0.jar", token: adminToken}, status: 405,
			header: map[string]string{"Allow": "DELETE, GET, HEAD, PUT"}},
		{name: "writer may not delete", req: request{method: "DELETE", path: base + "app-1.0.jar", token: writerToken}, status: 403},
		{name: "delete a checksum", req: request{method: "DELETE", path: base + "app-1.0.jar.sha1", token: adminToken}, status: 405},
		{name: "root listing", req: request{method: "GET", path: "/", token: adminToken}, status: 200,
			contains: []string{`<a href="com/">com/</a>`}},
		{name: "group listing", req: request{method: "GET", path: "/com/example/", token: adminToken}, status: 200,
			contains: []string{`<a href="../">../</a>`, `<a href="app/">app/</a>`}},
		{name: "artifact listing", req: request{method: "GET", path: "/com/example/app/", token: readerToken}, status: 200,
			contains: []string{`<a href="1.0/">1.0/</a>`, `<a href="2.0/">2.0/</a>`, `<a href="maven-metadata.xml">`, `<a href="maven-metadata.xml.sha1">`}},
		{name: "version listing", req: request{method: "GET", path: base, token: adminToken}, status: 200,
			header:   map[string]string{"Content-Type": "text/html; charset=utf-8"},
			contains: []string{`<a href="app-1.0.jar">`, `<a href="app-1.0.jar.sha512">`, `<a href="app-1.0-sources.jar">`, `<a href="app-1.0.pom">`}},
		{name: "missing listing", req: request{method: "GET", path: "/org/none/", token: adminToken}, status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := e.do(ctx, tc.req)
			if got.status != tc.status {
				t.Fatalf("status %d, want %d: %s", got.status, tc.status, got.body)
			}
			for k, v := range tc.header {
				if got.header.Get(k) != v {
					t.Errorf("%s: %q, want %q", k, got.header.Get(k), v)
				}
			}
			if tc.body != "" && got.body != tc.body {
				t.Errorf("body %q, want %q", got.body, tc.body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(got.body, c) {
					t.Errorf("body lacks %q:\n%s", c, got.body)
				}
			}
		})
	}
	// The release redeploy changed nothing.
	if got := e.get(ctx, base+"app-1.0.jar"); got.body != jar {
		t.Errorf("after a refused redeploy: %q", got.body)
	}
	if got := e.get(ctx, base+"app-1.0.jar"); got.header.Get("Last-Modified") == "" {
		t.Error("no Last-Modified")
	}
}

// TestAllowRedeploy replaces a release file when the switch is on, and
// deletes the old bytes.
func TestAllowRedeploy(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, Config{AllowRedeploy: true})
	p := "/com/example/app/1.0/app-1.0.jar"
	e.deploy(ctx, p, "first")
	before := len(e.keys(ctx))
	e.deploy(ctx, p, "second")
	if got := e.get(ctx, p); got.body != "second" {
		t.Fatalf("after redeploy: %q", got.body)
	}
	if after := len(e.keys(ctx)); after != before {
		t.Errorf("%d keys after the redeploy, %d before: the old bytes stayed", after, before)
	}
}

// TestSnapshots deploys twelve timestamped builds of a SNAPSHOT, with a
// classifier, keeping ten, and checks version-level metadata, resolution
// of the non-unique name and pruning.
func TestSnapshots(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, Config{})
	dir := "/com/example/app/1.0-SNAPSHOT/"
	stamp := func(n int) string {
		return time.Date(2026, 1, 2, 3, 4, n, 0, time.UTC).Format(snapshotTimeLayout) + fmt.Sprintf("-%d", n)
	}
	for n := 1; n <= 12; n++ {
		e.deploy(ctx, dir+"app-1.0-"+stamp(n)+".jar", fmt.Sprintf("jar %d", n))
		e.deploy(ctx, dir+"app-1.0-"+stamp(n)+".pom", fmt.Sprintf("pom %d", n))
		if n%2 == 0 {
			e.deploy(ctx, dir+"app-1.0-"+stamp(n)+"-sources.jar", fmt.Sprintf("sources %d", n))
		}
	}
	md := e.get(ctx, dir+"maven-metadata.xml")
	for _, want := range []string{
		`<metadata modelVersion="1.1.0">`, "<version>1.0-SNAPSHOT</version>",
		"<timestamp>20260102.030412</timestamp>", "<buildNumber>12</buildNumber>",
		"<snapshotVersion><extension>jar</extension><value>1.0-20260102.030412-12</value>",
		"<snapshotVersion><extension>pom</extension><value>1.0-20260102.030412-12</value>",
		"<snapshotVersion><classifier>sources</classifier><extension>jar</extension><value>1.0-20260102.030412-12</value>",
	} {
		if !strings.Contains(squash(md.body), want) {
			t.Errorf("version metadata lacks %q:\n%s", want, md.body)
		}
	}
	if got := e.get(ctx, dir+"maven-metadata.xml.sha1"); got.body != sha1Hex(md.body) {
		t.Errorf("metadata sha1 %q does not match the metadata served", got.body)
	}
	for path, want := range map[string]string{
		dir + "app-1.0-SNAPSHOT.jar":                 "jar 12",
		dir + "app-1.0-SNAPSHOT-sources.jar":         "sources 12",
		dir + "app-1.0-SNAPSHOT.jar.sha1":            sha1Hex("jar 12"),
		dir + "app-1.0-" + stamp(3) + ".jar":         "jar 3",
		dir + "app-1.0-" + stamp(4) + "-sources.jar": "sources 4",
	} {
		if got := e.get(ctx, path); got.status != 200 || got.body != want {
			t.Errorf("GET %s: %d %q, want %q", path, got.status, got.body, want)
		}
	}
	for _, n := range []int{1, 2} {
		if got := e.get(ctx, dir+"app-1.0-"+stamp(n)+".jar"); got.status != 404 {
			t.Errorf("build %d was not pruned: %d", n, got.status)
		}
	}
	files := 0
	for _, k := range e.keys(ctx) {
		if strings.HasPrefix(k, filesPrefix) {
			files++
		}
	}
	if want := 10*2 + 5; files != want {
		t.Errorf("%d stored files, want %d (ten builds)", files, want)
	}
	// A SNAPSHOT may be redeployed with other bytes.
	e.deploy(ctx, dir+"app-1.0-"+stamp(12)+".jar", "jar 12 again")
	if got := e.get(ctx, dir+"app-1.0-SNAPSHOT.jar"); got.body != "jar 12 again" {
		t.Errorf("after a SNAPSHOT redeploy: %q", got.body)
	}
	am := e.get(ctx, "/com/example/app/maven-metadata.xml")
	if !strings.Contains(am.body, "<latest>1.0-SNAPSHOT</latest>") || strings.Contains(am.body, "<release>") {
		t.Errorf("artifact metadata of a SNAPSHOT-only artifact:\n%s", am.body)
	}
}

// TestMetadataUploads merges uploaded metadata at each level and refuses
// what is not metadata, leaving storage as it was.
func TestMetadataUploads(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, Config{MaxMetadataSize: 4096})
	e.deploy(ctx, "/com/example/app/1.0/app-1.0.jar", "a")
	e.deploy(ctx, "/com/example/plugins/demo-maven-plugin/1.0/demo-maven-plugin-1.0.jar", "p")
	// A crash between the version's two updates: the artifact document
	// does not list 2.0 although its files are there.
	e.deploy(ctx, "/com/example/app/2.0/app-2.0.jar", "b")
	if _, _, err := updateArtifactDocForTest(e, "com.example", "app", "2.0"); err != nil {
		t.Fatal(err)
	}
	if md := e.get(ctx, "/com/example/app/maven-metadata.xml"); strings.Contains(md.body, "<version>2.0</version>") {
		t.Fatalf("test set-up: 2.0 still listed:\n%s", md.body)
	}
	put := func(path, body string) response {
		return e.do(ctx, request{method: "PUT", path: path, body: body, token: adminToken})
	}
	if r := put("/com/example/app/maven-metadata.xml", artifactMetadata("com.example", "app", "1.0", "2.0", "9.9")); r.status != 201 {
		t.Fatalf("artifact metadata: %d %s", r.status, r.body)
	}
	md := e.get(ctx, "/com/example/app/maven-metadata.xml")
	if !strings.Contains(md.body, "<version>2.0</version>") || strings.Contains(md.body, "9.9") {
		t.Errorf("merged metadata lists 2.0 (deployed) and not 9.9 (never deployed):\n%s", md.body)
	}
	group := `<metadata><plugins><plugin><name>Demo</name><prefix>demo</prefix><artifactId>demo-maven-plugin</artifactId></plugin>` +
		`<plugin><prefix>ghost</prefix><artifactId>ghost-maven-plugin</artifactId></plugin></plugins></metadata>`
	if r := put("/com/example/plugins/maven-metadata.xml", group); r.status != 201 {
		t.Fatalf("group metadata: %d %s", r.status, r.body)
	}
	gm := e.get(ctx, "/com/example/plugins/maven-metadata.xml")
	if !strings.Contains(gm.body, "<prefix>demo</prefix>") || strings.Contains(gm.body, "ghost") {
		t.Errorf("group metadata:\n%s", gm.body)
	}
	version := `<metadata modelVersion="1.1.0"><groupId>com.example</groupId><artifactId>app</artifactId><version>1.0-SNAPSHOT</version>` +
		`<versioning><snapshot><timestamp>20260101.000000</timestamp><buildNumber>1</buildNumber></snapshot></versioning></metadata>`
	if r := put("/com/example/app/1.0-SNAPSHOT/maven-metadata.xml", version); r.status != 201 {
		t.Fatalf("version metadata: %d %s", r.status, r.body)
	}
	if r := put("/com/example/app/maven-metadata.xml.sha1", sha1Hex("anything")); r.status != 201 {
		t.Errorf("metadata checksum: %d %s", r.status, r.body)
	}

	before := e.keys(ctx)
	bad := []struct {
		name, path, body string
		status           int
	}{
		{"not xml", "/com/example/app/maven-metadata.xml", "this is not xml", 400},
		{"json", "/com/example/app/maven-metadata.xml", `{"versions":["3.0"]}`, 400},
		{"two roots", "/com/example/app/maven-metadata.xml", artifactMetadata("com.example", "app", "1.0") + "<metadata/>", 400},
		{"oversized", "/com/example/app/maven-metadata.xml", artifactMetadata("com.example", "app", strings.Repeat("1.", 3000)+"0"), 413},
		{"other artifact", "/com/example/app/maven-metadata.xml", artifactMetadata("com.example", "other", "1.0"), 400},
		{"other group", "/com/example/app/maven-metadata.xml", artifactMetadata("org.evil", "app", "1.0"), 400},
		{"invalid version", "/com/example/app/maven-metadata.xml", artifactMetadata("com.example", "app", "../x"), 400},
		{"entity", "/com/example/app/maven-metadata.xml", `<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><metadata><groupId>&x;</groupId></metadata>`, 400},
		{"bad checksum", "/com/example/app/maven-metadata.xml.sha1", "zz", 400},
		{"traversal", "/com/example/../../etc/1.0/passwd", "x", 400},
		{"escaped traversal", "/com/example/%2e%2e/app/1.0/app-1.0.jar", "x", 400},
		{"empty segment", "/com//app/1.0/app-1.0.jar", "x", 404},
		{"bad file name", "/com/example/app/1.0/evil.jar", "x", 400},
		{"file of another version", "/com/example/app/1.0/app-2.0.jar", "x", 400},
		{"bad group", "/com/ex%20ample/app/1.0/app-1.0.jar", "x", 400},
		{"too short", "/app/1.0/app-1.0.jar", "x", 400},
		{"dotted group directory", "/com.example/app/1.0/app-1.0.jar", "x", 400},
		{"dotted group metadata", "/com.example/app/maven-metadata.xml", artifactMetadata("com.example", "app", "1.0"), 400},
		{"release redeploy", "/com/example/app/1.0/app-1.0.jar", "changed", 409},
		{"mismatching checksum", "/com/example/app/1.0/app-1.0.jar.sha1", sha1Hex("changed"), 400},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if r := put(tc.path, tc.body); r.status != tc.status {
				t.Errorf("PUT %s: %d, want %d: %s", tc.path, r.status, tc.status, r.body)
			}
		})
	}
	if after := e.keys(ctx); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("refused uploads changed storage:\nbefore %v\nafter  %v", before, after)
	}
	if r := e.get(ctx, "/com/example/app/maven-metadata.xml"); r.body != md.body {
		t.Errorf("refused uploads changed the metadata:\n%s", r.body)
	}
	if r := e.do(ctx, request{method: "GET", path: "/com/example/../../x/maven-metadata.xml", token: adminToken}); r.status != http.StatusBadRequest {
		t.Errorf("GET with ..: %d", r.status)
	}
}

// squash removes the indentation of rendered XML.
func squash(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}

// TestDelete removes a file, then a whole version: metadata, downloads
// and storage follow, and latest and release fall back.
func TestDelete(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, Config{})
	e.deploy(ctx, "/com/example/app/1.0/app-1.0.jar", "1")
	e.deploy(ctx, "/com/example/app/2.0/app-2.0.jar", "2")
	e.deploy(ctx, "/com/example/app/2.0/app-2.0.pom", "2p")
	del := func(path string) int {
		return e.do(ctx, request{method: "DELETE", path: path, token: adminToken}).status
	}
	if st := del("/com/example/app/2.0/app-2.0.pom"); st != 204 {
		t.Fatalf("delete a file: %d", st)
	}
	if r := e.get(ctx, "/com/example/app/2.0/app-2.0.pom"); r.status != 404 {
		t.Errorf("deleted file served: %d", r.status)
	}
	if r := e.get(ctx, "/com/example/app/maven-metadata.xml"); !strings.Contains(r.body, "<release>2.0</release>") {
		t.Errorf("a version with a file left is still listed:\n%s", r.body)
	}
	if st := del("/com/example/app/2.0/"); st != 204 {
		t.Fatalf("delete a version: %d", st)
	}
	if st := del("/com/example/app/2.0/"); st != 404 {
		t.Errorf("delete of a deleted version: %d", st)
	}
	r := e.get(ctx, "/com/example/app/maven-metadata.xml")
	if strings.Contains(r.body, "2.0") || !strings.Contains(r.body, "<latest>1.0</latest>") || !strings.Contains(r.body, "<release>1.0</release>") {
		t.Errorf("after deleting 2.0:\n%s", r.body)
	}
	files := 0
	for _, k := range e.keys(ctx) {
		if strings.HasPrefix(k, filesPrefix) {
			files++
		}
	}
	if files != 1 {
		t.Errorf("%d stored files, want 1", files)
	}
}

// TestPluginGroupMetadata deploys a plugin's POM: the group-level
// metadata lists its prefix; a plain artifact's POM adds nothing.
func TestPluginGroupMetadata(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, Config{})
	e.deploy(ctx, "/org/demo/hello-maven-plugin/1.0/hello-maven-plugin-1.0.pom",
		`<project><artifactId>hello-maven-plugin</artifactId><packaging>maven-plugin</packaging></project>`)
	e.deploy(ctx, "/org/demo/other-plugin/1.0/other-plugin-1.0.pom", `<project><artifactId>other-plugin</artifactId></project>`)
	r := e.get(ctx, "/org/demo/maven-metadata.xml")
	if got := squash(r.body); !strings.Contains(got, "<plugin><name>hello-maven-plugin</name><prefix>hello</prefix><artifactId>hello-maven-plugin</artifactId></plugin>") ||
		strings.Contains(got, "other") {
		t.Errorf("group metadata:\n%s", r.body)
	}
	if r := e.do(ctx, request{method: "GET", path: "/org/demo/maven-metadata.xml", token: readerToken}); r.status != 403 {
		t.Errorf("group metadata for a reader of another group: %d", r.status)
	}
	if r := e.do(ctx, request{method: "GET", path: "/org/demo/maven-metadata.xml"}); r.status != 401 {
		t.Errorf("group metadata without credentials: %d", r.status)
	}
}
