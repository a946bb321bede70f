package composer

import (
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
)

// TestLongNamesOnFilesystem: the longest package name and version allowed
// are stored on the filesystem (versions are not in keys, zips are named
// by upload), longer ones are refused by name, and every key stays below
// the package's own folders.
func TestLongNamesOnFilesystem(t *testing.T) {
	fs, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnvOn(t, fs, noHooks, Config{})
	vendor := strings.Repeat("v", maxNameLen-len("/p"))
	longest := vendor + "/p"
	branch := "dev-" + strings.Repeat("b", maxVersionLen-len("dev-"))
	for _, tc := range []struct {
		name, pkg, version string
		status             int
	}{
		{"longest name", longest, "1.0.0", http.StatusCreated},
		{"longest branch", longest, branch, http.StatusCreated},
		{"name one byte longer", "v" + longest, "1.0.0", http.StatusNotFound},
		{"branch one byte longer", longest, branch + "b", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.upload(t.Context(), tc.pkg, tc.version, pkg{name: tc.pkg}.zip(t))
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
	for _, k := range e.keys(t.Context()) {
		if err := core.ValidateKey(k); err != nil {
			t.Errorf("key %s: %v", k, err)
		}
		if !strings.HasPrefix(k, packagesPrefix+longest+"/") && !strings.HasPrefix(k, distsPrefix+longest+"/") &&
			k != indexKey(longest) {
			t.Errorf("key %s outside the package's folders", k)
		}
	}
	if vs := e.versions(t.Context(), longest+"~dev.json"); len(vs) != 1 {
		t.Errorf("dev versions: %v", vs)
	}
}
