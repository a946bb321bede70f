package npm

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/counting"
)

// FuzzParsePublish: any body is parsed or refused with a client error
// (ErrInvalidArgument or ErrTooLarge); what reaches storage never exceeds
// the tarball limit; every stored attachment is described with its true
// size; and the body is never read much past the limits.
func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{
		`{"_id":"a","name":"a","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"a"}},"_attachments":{"a-1.0.0.tgz":{"content_type":"x","data":"aGVsbG8=","length":5}}}`,
		`{"_attachments":{"f":{"data":"P\/8\nA"}}}`, `{"_attachments":{"f":{"data":"aGk=\n\n\n"}}}`,
		`{"_attachments":{"f":{"data":"YQ=="},"g":{"data":"Yg=="}}}`, `{"_attachments":{"f":{"data":12}}}`,
		`{"name":"a"} {}`, `[1]`, `{"_attachments":{"f":{"data":"\u0041"}}}`, `{"_attachments":{"f":{"data":"aGVsbG8`,
		`{"versions":{"1.0.0":{"dist":{"tarball":"x"}}},"_attachments":{}}`,
	} {
		f.Add([]byte(s))
	}
	const maxMeta, maxTarball = 4096, 1024
	f.Fuzz(func(t *testing.T, body []byte) {
		var stored []int
		src := &counting.Reader{R: strings.NewReader(string(body))}
		pr, err := parsePublish(src, maxMeta, maxTarball, func(r io.Reader) (string, error) {
			b, err := io.ReadAll(r)
			stored = append(stored, len(b))
			if len(b) > maxTarball+1 {
				t.Fatalf("storage got %d bytes, over the limit", len(b))
			}
			return "k", err
		})
		if err != nil && !errors.Is(err, core.ErrInvalidArgument) && !errors.Is(err, core.ErrTooLarge) {
			t.Fatalf("error %v is neither ErrInvalidArgument nor ErrTooLarge", err)
		}
		if err == nil {
			if len(pr.Attachments) != len(stored) {
				t.Fatalf("%d attachments, %d stored", len(pr.Attachments), len(stored))
			}
			for i, a := range pr.Attachments {
				if a.Size != int64(stored[i]) || a.Size > maxTarball || a.Key != "k" {
					t.Fatalf("attachment %+v, stored %d bytes", a, stored[i])
				}
			}
		}
		if src.N > int64(len(body)) {
			t.Fatalf("read %d bytes of a %d byte body", src.N, len(body))
		}
	})
}

// FuzzNames: a package name that validates makes valid storage keys that
// stay under the package's own prefix, and a version that parses makes a
// tarball file name of one path segment; versions compare as a total
// order on themselves.
func FuzzNames(f *testing.F) {
	for _, s := range [][2]string{{"left-pad", "1.0.0"}, {"@team/app", "1.0.0-beta.1+build.5"}, {"..", "1.0"},
		{"@team/..", "01.0.0"}, {"a/b", "1.0.0-"}, {"@x/y", "1.2.3-0a"}, {"node_modules", "v1.0.0"}, {"~a", "1.0.0-alpha..1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, version string) {
		if err := validateName(name); err == nil {
			for _, k := range []string{packumentKey(name), tarballKey(name, "x.tgz")} {
				if err := core.ValidateKey(k); err != nil || !strings.HasPrefix(k, rootPrefix+"packages/"+name+"/") {
					t.Fatalf("name %q makes key %q (%v)", name, k, err)
				}
			}
		} else if !errors.Is(err, core.ErrInvalidArgument) {
			t.Fatalf("validateName(%q): %v", name, err)
		}
		if _, ok := parseVersion(version); ok {
			file := tarballFile("pkg", version)
			if strings.ContainsAny(file, "/\\") || core.ValidateKey(tarballKey("pkg", file)) != nil {
				t.Fatalf("version %q makes tarball file %q", version, file)
			}
			if compareVersions(version, version) != 0 {
				t.Fatalf("%q does not equal itself", version)
			}
			if c1, c2 := compareVersions(version, name), compareVersions(name, version); c1 != -c2 {
				t.Fatalf("compare(%q, %q) = %d but the reverse is %d", version, name, c1, c2)
			}
		}
	})
}
