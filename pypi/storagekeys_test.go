package pypi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core/storage/filesystem"
)

// TestLongFileNameOnFilesystem: the longest file name allowed is stored on
// the filesystem (objects are named by upload, not by file name), a longer
// one is refused by name, and no error names a storage key
// (testEnv.do checks every error body of the tests).
func TestLongFileNameOnFilesystem(t *testing.T) {
	fs, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnvOn(t, fs, true)
	long := "1" + strings.Repeat(".0", (maxFilename-len("pp-1.tar.gz"))/2) // pp-<long>.tar.gz is maxFilename bytes
	for _, tc := range []struct {
		name   string
		d      dist
		status int
		want   string
	}{
		{"longest accepted", dist{name: "pp", version: long}, http.StatusOK, ""},
		{"one byte longer", dist{name: "ppp", version: long}, http.StatusBadRequest, "length not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.upload(t.Context(), tc.d, tc.d.sdistName(), tc.d.sdist(t), nil)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Fatalf("got %d %q, want %d with %q", r.status, r.body, tc.status, tc.want)
			}
		})
	}
}
