package cargo

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestBadPublishes sends publishes a registry must refuse: each gets a 4xx
// in cargo's error shape with a reason, and leaves storage as it was (no
// index line, no crate file, no temporary object).
func TestBadPublishes(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, false)
	good := testCrate{name: "foo", vers: "1.0.0"}
	e.mustPublish(ctx, good)
	valid := good.body(t)
	meta := testCrate{name: "foo", vers: "2.0.0"}.metadata(t)
	crate := testCrate{name: "foo", vers: "2.0.0"}.crateFile(t)
	length := func(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
	withName := func(name string) []byte {
		b, _ := json.Marshal(map[string]any{"name": name, "vers": "1.0.0", "deps": []any{}, "features": map[string]any{}})
		return wireBody(b, crate)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		detail string
	}{
		{"empty body", nil, 400, "truncated"},
		{"truncated length", []byte{1, 0}, 400, "truncated"},
		{"JSON length past the body", append(length(500), meta...), 400, "truncated"},
		{"truncated crate", wireBody(meta, crate)[:len(meta)+8+len(crate)/2], 400, "truncated"},
		{"no crate length", append(length(uint32(len(meta))), meta...), 400, "truncated"},
		{"bytes after the crate", append(wireBody(meta, crate), 'x'), 400, "after the crate"},
		{"oversize JSON", append(length(2<<20), meta...), 413, "over the limit"},
		{"oversize crate", append(append(length(uint32(len(meta))), meta...), length(1<<30)...), 413, "over the limit"},
		{"JSON not JSON", wireBody([]byte("{nope"), crate), 400, "not valid JSON"},
		{"name with /", withName("foo/bar"), 400, "crate name"},
		{"name with ..", withName("..foo"), 400, "crate name"},
		{"non-ASCII name", withName("föö"), 400, "crate name"},
		{"name too long", withName(strings.Repeat("a", 65)), 400, "crate name"},
		{"bad version", wireBody([]byte(`{"name":"foo","vers":"1.0","deps":[]}`), crate), 400, "semantic version"},
		{"bad dependency", wireBody([]byte(`{"name":"foo","vers":"2.0.0","deps":[{"name":"../x","version_req":"1"}]}`), crate), 400, "dependency"},
		{"Cargo.toml names another crate", testCrate{name: "foo", vers: "2.0.0", tomlName: "bar"}.body(t), 400, "Cargo.toml"},
		{"Cargo.toml names another version", testCrate{name: "foo", vers: "2.0.0", tomlVers: "2.0.1"}.body(t), 400, "Cargo.toml"},
		{"crate is not gzip", wireBody(meta, []byte("just some bytes, not gzip")), 400, "gzip"},
		{"crate without Cargo.toml", wireBody(meta, testCrate{name: "other", vers: "2.0.0"}.crateFile(t)), 400, "foo-2.0.0/Cargo.toml"},
		{"re-publish with other bytes", testCrate{name: "foo", vers: "1.0.0", payload: 3}.body(t), 400, "already"},
		{"re-publish up to build metadata", testCrate{name: "foo", vers: "1.0.0+other"}.body(t), 400, "already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.keys(ctx)
			r := e.publish(ctx, adminToken, tc.body)
			var body struct {
				Errors []struct{ Detail string } `json:"errors"`
			}
			if r.status != tc.status || json.Unmarshal([]byte(r.body), &body) != nil || len(body.Errors) != 1 ||
				!strings.Contains(body.Errors[0].Detail, tc.detail) {
				t.Errorf("%d %s, want %d with %q", r.status, r.body, tc.status, tc.detail)
			}
			if after := e.keys(ctx); !slices.Equal(before, after) {
				t.Errorf("storage changed:\n%v\n%v", before, after)
			}
		})
	}
	if lines := e.indexLines(ctx, "foo"); len(lines) != 1 || lines[0].Cksum != sha256Hex(good.crateFile(t)) {
		t.Errorf("index after the refusals: %+v", lines)
	}
	// The same bytes again are a retry, which succeeds.
	if r := e.publish(ctx, adminToken, valid); r.status != http.StatusOK {
		t.Errorf("identical re-publish: %d %s", r.status, r.body)
	}
	if got := e.get(ctx, "/3/f/foo"); strings.Count(got.body, "\n") != 1 {
		t.Errorf("index after the retry:\n%s", got.body)
	}
}
