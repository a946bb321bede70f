package npm

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core/storage/filesystem"
)

// TestErrorsNameNoStorageKeys sends input that passes the protocol's
// checks but makes keys a backend refuses (a tarball file name longer than
// a filesystem allows): the refusal is a 4xx that says what the client
// sent, and never names a storage key (checkNoStorageKeys, run on every
// error body of these tests).
func TestErrorsNameNoStorageKeys(t *testing.T) {
	fs, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, fs)
	long := "1.0.0-" + strings.Repeat("a", 250)
	name := strings.Repeat("n", 200)
	r := e.do(t.Context(), http.MethodPut, "/"+name, adminToken, bytes.NewReader(newPublish(t, name, long).body()))
	if r.status < 400 || r.status >= 500 {
		t.Fatalf("got %d %s, want a 4xx", r.status, r.body)
	}
}
