package rubygems

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// FuzzParseSpec: any bytes either parse into a spec whose name, version
// and platform make valid storage keys, or are refused as invalid
// arguments; never a panic, never another error.
func FuzzParseSpec(f *testing.F) {
	f.Add(fixture{name: "foo", version: "1.0.0", deps: map[string]string{"bar": ">= 1"}}.specYAML())
	f.Add(fixture{name: "foo", version: "1.0.0.pre", platform: "java"}.specYAML())
	f.Add(yamlBomb())
	f.Add("--- !ruby/object:Gem::Installer\nname: x\n")
	f.Add("name: &a [*a]\n")
	f.Add("--- {name: ../x, version: '1'}")
	f.Fuzz(func(t *testing.T, doc string) {
		spec, err := ParseSpec([]byte(doc), SpecLimits{MaxNodes: 10_000})
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		for _, k := range []string{gemKey(spec.Name), fileKey(spec.Name, "obj")} {
			if err := core.ValidateKey(k); err != nil || strings.Count(k, "/") != 3 {
				t.Fatalf("spec %+v makes key %q (%v)", spec, k, err)
			}
		}
		if strings.ContainsAny(versionID(spec.Version, spec.Platform), " \t\n,|:/") {
			t.Fatalf("version id %q breaks the index formats", versionID(spec.Version, spec.Platform))
		}
	})
}

// FuzzPush: whatever body is pushed, the answer is 200 or a 4xx, and a
// refused push leaves nothing behind.
func FuzzPush(f *testing.F) {
	f.Add(fixture{name: "foo", version: "1.0.0"}.gem(f))
	f.Add([]byte("not a gem"))
	f.Add(gemFile(f, map[string][]byte{"metadata.gz": []byte("x")}))
	f.Add(gemFile(f, map[string][]byte{"metadata.gz": gz(f, []byte(yamlBomb()))}))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := newTestEnv(t)
		ctx := t.Context()
		r := e.push(ctx, body)
		if r.status != http.StatusOK && (r.status < 400 || r.status >= 500) {
			t.Fatalf("push: %d %s", r.status, r.body)
		}
		if r.status != http.StatusOK {
			for _, k := range e.keys(ctx) {
				if !strings.HasPrefix(k, basePrefix) {
					t.Fatalf("a refused push left %s", k)
				}
			}
		}
	})
}

// FuzzCompareVersions: the order is antisymmetric and a version equals
// itself.
func FuzzCompareVersions(f *testing.F) {
	for _, p := range [][2]string{{"1.0", "1.0.0"}, {"1.0.a", "1.0"}, {"1.10", "1.9"}, {"2.0.0.pre1", "2.0.0.pre.2"}, {"01", "1"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if CompareVersions(a, a) != 0 || CompareVersions(a, b) != -CompareVersions(b, a) {
			t.Fatalf("CompareVersions(%q, %q) = %d, reverse %d", a, b, CompareVersions(a, b), CompareVersions(b, a))
		}
	})
}
