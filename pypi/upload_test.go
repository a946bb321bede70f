package pypi

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/archive/archivetest"
)

// TestUploadRefused sends bad uploads: each is a clear 4xx and stores
// nothing (the storage keys are the same before and after).
func TestUploadRefused(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	good := dist{name: "good", version: "1.0"}
	e.mustUpload(ctx, good)
	other := dist{name: "good", version: "1.0", metadataName: "evil"}
	changed := dist{name: "good", version: "1.0", payload: 1} // other bytes under good's wheel name
	v2 := dist{name: "good", version: "2.0"}
	noMetadata := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("good/__init__.py")
		w.Write([]byte("x = 1\n"))
		zw.Close()
		return buf.Bytes()
	}()

	tests := []struct {
		name     string
		d        dist
		filename string
		content  []byte
		fields   map[string]string
		status   int
		message  string
	}{
		{"wrong sha256", v2, v2.wheelName(), v2.wheel(t), map[string]string{"sha256_digest": strings.Repeat("0", 64)}, 400, "sha256_digest does not match"},
		{"wrong md5", v2, v2.wheelName(), v2.wheel(t), map[string]string{"md5_digest": strings.Repeat("0", 32)}, 400, "md5_digest does not match"},
		{"wrong blake2", v2, v2.wheelName(), v2.wheel(t), map[string]string{"blake2_256_digest": strings.Repeat("0", 64)}, 400, "blake2_256_digest does not match"},
		{"metadata names another project", other, "good-1.1-py3-none-any.whl", other.wheel(t), map[string]string{"version": "1.1"}, 400, "metadata says"},
		{"form names another project", v2, v2.wheelName(), v2.wheel(t), map[string]string{"name": "bad"}, 400, "form field name"},
		{"form names another version", v2, v2.wheelName(), v2.wheel(t), map[string]string{"version": "3.0"}, 400, "form field version"},
		{"file name names another version", v2, "good-3.0-py3-none-any.whl", v2.wheel(t), map[string]string{"version": ""}, 400, "file name says version"},
		{"not a distribution name", v2, "good-2.0.exe", v2.wheel(t), nil, 400, "neither a wheel"},
		{"wheel name with too few parts", v2, "good-2.0.whl", v2.wheel(t), nil, 400, "not a wheel name"},
		{"dot dot slash", v2, "../../good-2.0.tar.gz", v2.sdist(t), nil, 400, "not allowed"},
		{"dot dot", v2, "good..-2.0.tar.gz", v2.sdist(t), nil, 400, "not allowed"},
		{"wheel without METADATA", v2, v2.wheelName(), noMetadata, nil, 400, "no readable core metadata"},
		{"sdist that is not gzip", v2, v2.sdistName(), []byte("plain text"), nil, 400, "no readable core metadata"},
		{"wheel that is not zip", v2, v2.wheelName(), []byte("plain text"), nil, 400, "no readable core metadata"},
		// 64 MiB of padding in a 64 KB sdist: refused by the ratio bound
		// long before the padding is inflated.
		{"sdist bomb", v2, v2.sdistName(), archivetest.PaddedTarGz(64<<20, "good-2.0/PKG-INFO", []byte(v2.metadata())), nil, 400,
			"compression ratio"},
		{"empty file", v2, v2.wheelName(), nil, nil, 400, "empty"},
		{"filetype mismatch", v2, v2.wheelName(), v2.wheel(t), map[string]string{"filetype": "sdist"}, 400, "filetype"},
		{"other action", v2, v2.wheelName(), v2.wheel(t), map[string]string{":action": "submit"}, 400, ":action"},
		{"bad version", dist{name: "good", version: "not.a.version"}, "good-not.a.version.tar.gz",
			dist{name: "good", version: "not.a.version"}.sdist(t), nil, 400, "not a PEP 440 version"},
		{"file exists with other bytes", changed, good.wheelName(), changed.wheel(t), nil, 400, "File already exists"},
		{"file exists with other bytes, name in form only after the file", changed, good.wheelName(), changed.wheel(t), map[string]string{"name": ""}, 400, "File already exists"},
		{"file exists, no digest announced", changed, good.wheelName(), changed.wheel(t), map[string]string{"sha256_digest": ""}, 400, "File already exists"},
		// As on PyPI, the same file again is a retry: accepted, nothing changes.
		{"the same file again", good, good.sdistName(), good.sdist(t), map[string]string{"name": ""}, 200, "OK"},
	}
	before := e.keys(ctx)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.upload(ctx, tt.d, tt.filename, tt.content, tt.fields)
			if r.status != tt.status || !strings.Contains(r.body, tt.message) {
				t.Fatalf("got %d %q, want %d with %q", r.status, r.body, tt.status, tt.message)
			}
			if after := e.keys(ctx); !slices.Equal(before, after) {
				t.Fatalf("storage changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}

	t.Run("not multipart", func(t *testing.T) {
		r := e.do(ctx, request{method: "POST", path: "/", token: adminToken, header: map[string]string{"Content-Type": "application/json"}, body: []byte("{}")})
		if r.status != 400 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("truncated body", func(t *testing.T) {
		body, ct := uploadBody(t, v2, v2.wheelName(), v2.wheel(t), nil)
		r := e.do(ctx, request{method: "POST", path: "/", token: adminToken, header: map[string]string{"Content-Type": ct}, body: body[:len(body)-200]})
		if r.status != 400 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		if after := e.keys(ctx); !slices.Equal(before, after) {
			t.Fatalf("storage changed: %v", after)
		}
	})
	t.Run("too large", func(t *testing.T) {
		small := newTestEnv(t, true)
		small.h.cfg.MaxUploadSize = 1000
		r := small.upload(ctx, v2, v2.wheelName(), v2.wheel(t), nil)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		if keys := small.keys(ctx); len(keys) != 0 {
			t.Fatalf("stored %v", keys)
		}
	})
}

// TestSameProjectDifferentSpelling uploads My_Pkg and my-pkg: one project.
func TestSameProjectDifferentSpelling(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	e.mustUpload(ctx, dist{name: "My_Pkg", version: "1.0"})
	e.mustUpload(ctx, dist{name: "my-pkg", version: "2.0"})
	e.mustUpload(ctx, dist{name: "MY.PKG", version: "3.0"})
	r := e.do(ctx, request{method: "GET", path: "/simple/my-pkg/", header: map[string]string{"Accept": ContentTypeJSON}})
	if !strings.Contains(r.body, `"versions":["1.0","2.0","3.0"]`) {
		t.Fatalf("one project expected: %s", r.body)
	}
	r = e.do(ctx, request{method: "GET", path: "/simple/"})
	if strings.Count(r.body, "<a ") != 1 {
		t.Fatalf("index: %s", r.body)
	}
}

// TestConcurrentUploads runs uploads of different versions through two
// handlers (replicas) on one memory backend at once: all of them land.
// Uploads of one file name with different bytes race too: exactly one
// wins.
func TestConcurrentUploads(t *testing.T) {
	ctx := t.Context()
	backend := memory.New()
	replicas := []*testEnv{newTestEnvOn(t, backend, true), newTestEnvOn(t, backend, true)}
	const n = 16
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := dist{name: "race", version: fmt.Sprintf("1.%d", i)}
			statuses[i] = replicas[i%2].upload(ctx, d, d.wheelName(), d.wheel(t), nil).status
		}()
	}
	sameStatus := make([]int, 4)
	for i := range sameStatus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			same := dist{name: "race", version: "9.0", payload: i + 1}
			sameStatus[i] = replicas[i%2].upload(ctx, same, same.wheelName(), same.wheel(t), nil).status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("upload %d: %d", i, s)
		}
	}
	ok := 0
	for _, s := range sameStatus {
		switch s {
		case 200:
			ok++
		case 400:
		default:
			t.Errorf("same file upload: %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d uploads of one file name succeeded, want 1", ok)
	}
	r := replicas[0].do(ctx, request{method: "GET", path: "/simple/race/", header: map[string]string{"Accept": ContentTypeJSON}})
	for i := range n {
		if !strings.Contains(r.body, fmt.Sprintf(`"race-1.%d-py3-none-any.whl"`, i)) {
			t.Errorf("version 1.%d lost", i)
		}
	}
	if c := strings.Count(r.body, `"filename"`); c != n+1 {
		t.Errorf("%d files listed, want %d", c, n+1)
	}
	for _, k := range replicas[0].keys(ctx) {
		if strings.HasPrefix(k, uploadsPrefix) {
			t.Errorf("temporary upload left behind: %s", k)
		}
	}
}

// rangeRecorder is a memory backend that records the ranged reads.
type rangeRecorder struct {
	*memory.Backend
	mu     sync.Mutex
	ranged int64 // bytes asked for by ranged Gets
	whole  int   // Gets without a range
}

func (r *rangeRecorder) Get(ctx context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	r.mu.Lock()
	if rng != nil {
		r.ranged += rng.Length
	} else if strings.HasPrefix(key, uploadsPrefix) {
		r.whole++
	}
	r.mu.Unlock()
	return r.Backend.Get(ctx, key, rng)
}

// TestWheelMetadataReadByRanges uploads a wheel of several MiB: its
// METADATA is found through a few ranged reads, not by reading it whole;
// the upload moves into place without being read again.
func TestWheelMetadataReadByRanges(t *testing.T) {
	ctx := t.Context()
	rec := &rangeRecorder{Backend: memory.New()}
	e := newTestEnvOn(t, rec, true)
	d := dist{name: "large", version: "1.0", payload: 6 << 20}
	if r := e.upload(ctx, d, d.wheelName(), d.wheel(t), nil); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	t.Logf("ranged reads: %d bytes; whole reads of the upload: %d", rec.ranged, rec.whole)
	if rec.ranged > 1<<20 || rec.whole != 0 {
		t.Fatalf("ranged reads asked for %d bytes, %d whole reads of the upload; want < 1 MiB and none", rec.ranged, rec.whole)
	}
}

// TestUploadFormBounds sends forms that are small in values but large in
// what the parser keeps: many parts, or long field names. Both are refused
// as too large before the file, instead of being held in memory.
func TestUploadFormBounds(t *testing.T) {
	e := newTestEnv(t, true)
	tests := []struct {
		name  string
		parts int
		field string
	}{
		{"many empty parts", maxFormParts + 1, "x"},
		{"long field names", 40, strings.Repeat("n", 256<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for i := range tt.parts {
				mw.WriteField(fmt.Sprintf("%s%d", tt.field, i), "")
			}
			mw.Close()
			r := e.do(t.Context(), request{method: http.MethodPost, path: "/", token: adminToken,
				header: map[string]string{"Content-Type": mw.FormDataContentType()}, body: buf.Bytes()})
			if r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("got %d %q, want 413", r.status, r.body)
			}
			if len(r.body) > 1024 {
				t.Errorf("the refusal is %d bytes long", len(r.body))
			}
		})
	}
}

// TestUploadStorageReadFailure: a storage failure while the core metadata
// is read back from the received file is an internal error (500), not a
// bad file (400), which would tell twine the upload itself was wrong.
func TestUploadStorageReadFailure(t *testing.T) {
	e := newTestEnvOn(t, &storagetest.FailingReads{Backend: memory.New(), Prefix: uploadsPrefix}, true)
	d := dist{name: "foo", version: "1.0"}
	for _, f := range []struct {
		name    string
		content []byte
	}{{d.wheelName(), d.wheel(t)}, {d.sdistName(), d.sdist(t)}} {
		t.Run(f.name, func(t *testing.T) {
			if r := e.upload(t.Context(), d, f.name, f.content, nil); r.status != http.StatusInternalServerError {
				t.Fatalf("got %d %q, want 500", r.status, r.body)
			}
		})
	}
}
