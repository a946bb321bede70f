package rubygems

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// yamlBomb is a "billion laughs" gemspec: nine levels of aliases, each
// nine times the one before.
func yamlBomb() string {
	var b strings.Builder
	b.WriteString("--- !ruby/object:Gem::Specification\nname: bomb\nversion: !ruby/object:Gem::Version\n  version: 1.0.0\n")
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d]\n", i, i, i-1)
	}
	b.WriteString("summary: *a9\n")
	return b.String()
}

// TestBadInput pushes what must be refused: each is a clear 4xx in plain
// text, and nothing is stored.
func TestBadInput(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t)
	e.mustPush(ctx, fixture{name: "foo", version: "1.0.0"})
	good := fixture{name: "ok", version: "1.0.0"}
	withSpec := func(spec string) []byte {
		return gemFile(t, map[string][]byte{"metadata.gz": gz(t, []byte(spec)), "data.tar.gz": tarGz(t, nil)})
	}
	replace := func(old, new string) []byte {
		return withSpec(strings.Replace(good.specYAML(), old, new, 1))
	}
	for _, tt := range []struct {
		name   string
		body   []byte
		status int
		text   string
	}{
		{"empty body", nil, 400, "no gem"},
		{"not a tar", []byte("this is not a gem, just text that is long enough to be something"), 400, "not a gem"},
		{"a tar without metadata.gz", gemFile(t, map[string][]byte{"data.tar.gz": tarGz(t, nil)}), 400, "not a gem"},
		{"metadata.gz not gzip", gemFile(t, map[string][]byte{"metadata.gz": []byte("plain yaml, not gzip")}), 400, "not gzip"},
		{"metadata.gz inflating too far", gemFile(t, map[string][]byte{"metadata.gz": gz(t, bytes.Repeat([]byte(" "), 3<<20))}), 400, "metadata.gz"},
		{"gemspec not YAML", withSpec("{{{ :"), 400, "not YAML"},
		{"gemspec a list", withSpec("- a\n- b\n"), 400, "not a mapping"},
		{"YAML alias bomb", withSpec(yamlBomb()), 400, "too many nodes"},
		{"Ruby object tag", replace("--- !ruby/object:Gem::Specification", "--- !ruby/object:Gem::Installer"), 400, "not allowed"},
		{"Ruby hash tag deep inside", replace("metadata: {}", "metadata: !ruby/hash-with-ivars:ActionController::Parameters {}"), 400, "not allowed"},
		{"ERB template tag", replace("summary: A test gem", "summary: !ruby/object:ERB {src: 'system(1)'}"), 400, "not allowed"},
		{"name with a slash", replace("name: ok", "name: a/b"), 400, "invalid gem name"},
		{"name with ..", replace("name: ok", "name: a..b"), 400, "invalid gem name"},
		{"name ..", replace("name: ok", "name: '..'"), 400, "invalid gem name"},
		{"version with a slash", replace("version: 1.0.0", "version: 1.0/../x"), 400, "invalid version"},
		{"platform with a slash", replace("platform: ruby", "platform: x/../y"), 400, "invalid platform"},
		{"dependency with a bad name", withSpec(fixture{name: "ok", version: "1.0.0", deps: map[string]string{"../x": ">= 1"}}.specYAML()), 400, "invalid gem name"},
		{"requirement with a bad operator", withSpec(fixture{name: "ok", version: "1.0.0", deps: map[string]string{"x": "=~ 1"}}.specYAML()), 400, "malformed requirement"},
		{"re-push with other bytes", fixture{name: "foo", version: "1.0.0", payload: 1}.gem(t), 409, "Repushing of gem versions is not allowed."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.keys(ctx)
			r := e.push(ctx, tt.body)
			if r.status != tt.status || !strings.Contains(r.body, tt.text) {
				t.Fatalf("got %d %q, want %d with %q", r.status, r.body, tt.status, tt.text)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %s", ct)
			}
			if after := e.keys(ctx); !slices.Equal(before, after) {
				t.Errorf("storage changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	// Names in request paths are checked too.
	for _, path := range []string{"/info/..", "/info/a%2Fb", "/api/v1/versions/..%2F..json", "/gems/..%2F..%2Ffoo-1.0.0.gem"} {
		if r := e.get(ctx, path); r.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	for _, form := range []string{"gem_name=../foo&version=1.0.0", "gem_name=foo&version=1.0.0&platform=../x", "gem_name=foo&version=%zz"} {
		r := e.do(ctx, request{method: http.MethodDelete, path: "/api/v1/gems/yank", token: adminToken, body: []byte(form)})
		if r.status != http.StatusBadRequest {
			t.Errorf("yank %s: %d %s", form, r.status, r.body)
		}
	}
}

// TestRefusedPushBody checks what a refused push does with the body it
// did not read: a small rest is drained so that gem reads the answer, a
// rest announced as larger than reqbody.MaxDrain is left and the answer
// closes the connection.
func TestRefusedPushBody(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t)
	for _, tt := range []struct {
		name          string
		token         string
		contentLength int64
		status        int
		close         bool
	}{
		{"no key, small body", "", 100, http.StatusUnauthorized, false},
		{"over the limit by Content-Length", adminToken, 1 << 40, http.StatusRequestEntityTooLarge, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.NewReader(make([]byte, 100))
			req := &core.RequestContext{Method: http.MethodPost, Path: "/api/v1/gems", Header: http.Header{},
				Body: body, ContentLength: tt.contentLength, Actor: &core.Actor{}}
			if tt.token != "" {
				req.Header.Set("Authorization", tt.token)
			}
			_, err := e.h.Handle(ctx, req)
			if err == nil {
				t.Fatal("accepted")
			}
			resp := e.h.ErrorResponse(ctx, req, err)
			if resp.Status != tt.status || (resp.Header.Get("Connection") == "close") != tt.close {
				t.Errorf("%d, Connection: %q; want %d, close %v", resp.Status, resp.Header.Get("Connection"), tt.status, tt.close)
			}
			if drained := body.Len() == 0; drained == tt.close {
				t.Errorf("%d bytes left unread; want drained %v", body.Len(), !tt.close)
			}
		})
	}
}

// TestParseSpecTags checks the YAML reader alone: the gemspec's own tags
// are plain maps, other tags are refused, aliases within bounds are fine.
func TestParseSpecTags(t *testing.T) {
	spec, err := ParseSpec([]byte(fixture{name: "foo", version: "1.2.3", platform: "java", deps: map[string]string{"bar": "~> 1.2"}}.specYAML()), SpecLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "foo" || spec.Version != "1.2.3" || spec.Platform != "java" || len(spec.Dependencies) != 1 ||
		spec.Dependencies[0].Requirements[0] != "~> 1.2" || spec.RequiredRuby[0] != ">= 2.5" || spec.Licenses[0] != "MIT" ||
		spec.Date != "2024-05-01" || spec.Summary != "A test gem" {
		t.Errorf("parsed %+v", spec)
	}
	aliased := "--- !ruby/object:Gem::Specification\nname: foo\nversion: !ruby/object:Gem::Version\n  version: &v 1.0.0\nsummary: *v\n"
	if spec, err := ParseSpec([]byte(aliased), SpecLimits{}); err != nil || spec.Summary != "1.0.0" {
		t.Errorf("a small alias: %v %+v", err, spec)
	}
	if _, err := ParseSpec([]byte(yamlBomb()), SpecLimits{}); err == nil {
		t.Error("the bomb was read")
	}
	for _, tag := range []string{"!ruby/object:Gem::Installer", "!ruby/hash:Foo", "!ruby/struct:Bar", "!!python/object:os.system", "!custom"} {
		doc := "--- !ruby/object:Gem::Specification\nname: foo\nversion: 1.0.0\nsummary: " + tag + " x\n"
		if _, err := ParseSpec([]byte(doc), SpecLimits{}); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("tag %s: %v", tag, err)
		}
	}
}
