package composer

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestBadInput uploads what must be refused: each is a clear 4xx in
// composer's error body, and storage is left as it was (no staged upload,
// no zip, no document).
func TestBadInput(t *testing.T) {
	e := newTestEnvOn(t, newMemory(), noHooks, Config{MaxZipEntries: 50})
	ctx := t.Context()
	e.mustUpload(ctx, pkg{name: "acme/util", version: "1.0.0"}, "")
	before := e.keys(ctx)
	good := pkg{name: "acme/util", version: "2.0.0"}
	manyEntries := map[string]string{"composer.json": string(good.composerJSON())}
	for i := range 60 {
		manyEntries["f"+strings.Repeat("x", i)] = ""
	}
	cases := []struct {
		name, path string
		body       []byte
		status     int
		message    string
	}{
		{"not a zip", "/packages/acme/util?version=2.0.0", []byte("hello, this is not a zip"), 400, "not a zip"},
		{"empty body", "/packages/acme/util?version=2.0.0", nil, 400, "empty"},
		{"no composer.json", "/packages/acme/util?version=2.0.0", buildZip(t, "", map[string]string{"README": "x"}), 400, "no composer.json"},
		{"composer.json too deep", "/packages/acme/util?version=2.0.0", buildZip(t, "", map[string]string{"a/b/composer.json": string(good.composerJSON())}), 400, "no composer.json"},
		{"another package", "/packages/acme/util?version=2.0.0", pkg{name: "acme/other"}.zip(t), 400, "acme/other"},
		{"invalid JSON", "/packages/acme/util?version=2.0.0", buildZip(t, "", map[string]string{"composer.json": `{"name": "acme/util",`}), 400, "not a JSON object"},
		{"no name", "/packages/acme/util?version=2.0.0", buildZip(t, "", map[string]string{"composer.json": `{"version": "2.0.0"}`}), 400, "has no"},
		{"require not an object", "/packages/acme/util?version=2.0.0", buildZip(t, "", map[string]string{"composer.json": `{"name": "acme/util", "require": "php"}`}), 400, "must be an object of strings"},
		{"dot-dot entry", "/packages/acme/util", pkg{name: "acme/util", version: "2.0.0", extra: map[string]string{"../../evil.php": "x"}}.zip(t), 400, "leaves it"},
		{"absolute entry", "/packages/acme/util", pkg{name: "acme/util", version: "2.0.0", extra: map[string]string{"/etc/evil": "x"}}.zip(t), 400, "absolute"},
		{"symbolic link", "/packages/acme/util", symlinkZip(t, good), 400, "symbolic link"},
		{"zip bomb", "/packages/acme/util", bombZip(t, good, 4<<20), 400, "compression ratio"},
		{"composer.json too large", "/packages/acme/util", bombZip(t, good, 64<<20), 400, "over 1048576 bytes"},
		{"too many entries", "/packages/acme/util", buildZip(t, "", manyEntries), 400, "more than 50 entries"},
		{"no version", "/packages/acme/util", pkg{name: "acme/util"}.zip(t), 400, "no version"},
		{"invalid version in query", "/packages/acme/util?version=not%20a%20version", good.zip(t), 400, "invalid version"},
		{"invalid version in composer.json", "/packages/acme/util", pkg{name: "acme/util", version: "1.0.0.0.0.0"}.zip(t), 400, "invalid version"},
		{"invalid package name", "/packages/Acme/Util?version=1.0.0", good.zip(t), 404, ""},
		{"taken version", "/packages/acme/util?version=1.0", good.zip(t), 409, "already exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(ctx, request{method: http.MethodPut, path: c.path, token: adminToken, body: c.body})
			if r.status != c.status || !strings.Contains(r.body, c.message) || !strings.Contains(r.body, `"status":"error"`) {
				t.Errorf("got %d %s, want %d with %q", r.status, r.body, c.status, c.message)
			}
			if after := e.keys(ctx); !slices.Equal(after, before) {
				t.Errorf("storage changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	t.Run("over the size limit", func(t *testing.T) {
		small := newTestEnvOn(t, newMemory(), noHooks, Config{MaxUploadSize: 100})
		r := small.do(ctx, request{method: http.MethodPut, path: "/packages/acme/util?version=1.0.0", token: adminToken,
			body: pkg{name: "acme/util", extra: map[string]string{"big": strings.Repeat("x", 2000)}}.zip(t)})
		if r.status != http.StatusRequestEntityTooLarge || len(small.keys(ctx)) != 0 {
			t.Errorf("got %d %s, keys %v", r.status, r.body, small.keys(ctx))
		}
	})
}
