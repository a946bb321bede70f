package npm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// keyRefusingBackend refuses every put the way a backend refuses a key it
// cannot store (the filesystem's "segment too long"), naming the key.
type keyRefusingBackend struct{ core.Backend }

func (keyRefusingBackend) Put(_ context.Context, key string, _ io.Reader, _ int64, _ core.PutOptions) (core.ObjectInfo, error) {
	return core.ObjectInfo{}, fmt.Errorf("%w: key %q has a segment too long for the filesystem", core.ErrInvalidArgument, key)
}

// TestErrorsNameNoStorageKeys: a backend's refusal, which names the key,
// reaches the client as a 4xx without it (checkNoStorageKeys runs on every
// error body of these tests).
func TestErrorsNameNoStorageKeys(t *testing.T) {
	e := newTestEnv(t, keyRefusingBackend{memory.New()})
	r := e.do(t.Context(), http.MethodPut, "/refused", adminToken, bytes.NewReader(newPublish(t, "refused", "1.0.0").body()))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "(storage object)") {
		t.Fatalf("got %d %s, want 400 with the key hidden", r.status, r.body)
	}
}
