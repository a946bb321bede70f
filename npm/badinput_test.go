package npm

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/archive/archivetest"
)

// TestBadPublishStoresNothing sends broken publishes; each must be a clear
// 4xx and leave no key behind.
func TestBadPublishStoresNothing(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	e.publish(ctx, adminToken, newPublish(t, "existing", "1.0.0"))

	tests := []struct {
		name   string
		path   string
		body   func(t *testing.T) io.Reader
		status int
		want   string
	}{
		{"corrupt base64", "/corrupt", func(t *testing.T) io.Reader {
			p := newPublish(t, "corrupt", "1.0.0")
			p.data = "H4sI!!!not-base64***"
			return bytes.NewReader(p.body())
		}, 400, "not valid base64"},
		{"shasum mismatch", "/badsum", func(t *testing.T) io.Reader {
			p := newPublish(t, "badsum", "1.0.0")
			p.shasum = strings.Repeat("0", 40)
			return bytes.NewReader(p.body())
		}, 400, "shasum mismatch"},
		{"integrity mismatch", "/badsri", func(t *testing.T) io.Reader {
			p := newPublish(t, "badsri", "1.0.0")
			p.integrity = "sha512-" + strings.Repeat("A", 86) + "=="
			return bytes.NewReader(p.body())
		}, 400, "integrity mismatch"},
		{"tarball of another package", "/honest", func(t *testing.T) io.Reader {
			p := newPublish(t, "other", "1.0.0")
			q := newPublish(t, "honest", "1.0.0")
			q.tarball, q.shasum, q.integrity = p.tarball, p.shasum, p.integrity
			return bytes.NewReader(q.body())
		}, 400, "package.json names other@1.0.0"},
		{"not a tarball", "/notgz", func(t *testing.T) io.Reader {
			return bytes.NewReader(newPublishFrom("notgz", "1.0.0", []byte("plain text")).body())
		}, 400, "invalid tarball"},
		{"tarball bomb", "/bomb", func(t *testing.T) io.Reader {
			// 64 MiB of padding before package.json in a 64 KB tarball:
			// refused by the ratio bound long before it is inflated.
			tgz := archivetest.PaddedTarGz(64<<20, "package/package.json", []byte(`{"name":"bomb","version":"1.0.0"}`))
			return bytes.NewReader(newPublishFrom("bomb", "1.0.0", tgz).body())
		}, 400, "compression ratio"},
		{"endless newlines in the attachment", "/newlines", func(t *testing.T) io.Reader {
			return io.MultiReader(strings.NewReader(`{"name":"newlines","_attachments":{"newlines-1.0.0.tgz":{"data":"`), repeatReader('\n'))
		}, 413, "too large"},
		{"dot-dot name", "/..", func(t *testing.T) io.Reader {
			return bytes.NewReader(newPublish(t, "..", "1.0.0").body())
		}, 400, "invalid package name"},
		{"dot-dot in scoped name", "/@team%2f..", func(t *testing.T) io.Reader {
			return bytes.NewReader(newPublish(t, "@team/..", "1.0.0").body())
		}, 400, "invalid package name"},
		{"upper case", "/LeftPad", func(t *testing.T) io.Reader {
			return bytes.NewReader(newPublish(t, "LeftPad", "1.0.0").body())
		}, 400, "invalid package name"},
		{"name differs from URL", "/url-name", func(t *testing.T) io.Reader {
			return bytes.NewReader(newPublish(t, "body-name", "1.0.0").body())
		}, 400, "does not match"},
		{"not semver", "/badver", func(t *testing.T) io.Reader {
			return bytes.NewReader(newPublish(t, "badver", "1.0").body())
		}, 400, "not semver"},
		{"length mismatch", "/badlen", func(t *testing.T) io.Reader {
			b := newPublish(t, "badlen", "1.0.0").body()
			return bytes.NewReader(bytes.Replace(b, []byte(`"length":`), []byte(`"length":1`), 1))
		}, 400, "length"},
		{"invalid JSON", "/badjson", func(t *testing.T) io.Reader {
			return strings.NewReader(`{"name": "badjson", "versions": {`)
		}, 400, "invalid JSON"},
		{"truncated attachment", "/cut", func(t *testing.T) io.Reader {
			b := newPublish(t, "cut", "1.0.0").body()
			return bytes.NewReader(b[:bytes.Index(b, []byte(`"data":"`))+20])
		}, 400, "ends inside attachment data"},
		{"100 MB body without attachment", "/huge", func(t *testing.T) io.Reader {
			return hugeBody(100 << 20)
		}, 413, "too large"},
		{"version without tarball", "/existing", func(t *testing.T) io.Reader {
			return strings.NewReader(`{"name":"existing","versions":{"1.0.0":{"name":"existing","version":"1.0.0"},"2.0.0":{"name":"existing","version":"2.0.0"}}}`)
		}, 400, "without its tarball"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.keys(ctx)
			r := e.do(ctx, http.MethodPut, tt.path, adminToken, tt.body(t))
			if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
				t.Fatalf("got %d %s, want %d with %q", r.status, r.body, tt.status, tt.want)
			}
			var body map[string]string
			r.json(t, &body)
			if body["error"] == "" {
				t.Errorf("no error message in %s", r.body)
			}
			if after := e.keys(ctx); !slices.Equal(before, after) {
				t.Errorf("storage changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// hugeBody is a JSON document of about n bytes with one long description
// and no attachment, generated on the fly.
func hugeBody(n int) io.Reader {
	return io.MultiReader(strings.NewReader(`{"name":"huge","description":"`),
		io.LimitReader(repeatReader('x'), int64(n)), strings.NewReader(`"}`))
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// putCounter is a backend that counts the objects put under a prefix.
type putCounter struct {
	core.Backend
	prefix string
	n      atomic.Int64
}

func (c *putCounter) Put(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	if strings.HasPrefix(key, c.prefix) {
		c.n.Add(1)
	}
	return c.Backend.Put(ctx, key, r, size, opts)
}

// TestManyAttachments sends a publish with many attachments: it is refused
// at the second, before that one is stored, so that the body cannot carry
// an unbounded amount of data into storage.
func TestManyAttachments(t *testing.T) {
	ctx := t.Context()
	backend := &putCounter{Backend: memory.New(), prefix: rootPrefix + "uploads/"}
	e := newTestEnv(t, backend)
	var b strings.Builder
	b.WriteString(`{"name":"many","_attachments":{`)
	for i := range 50 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"many-1.0.%d.tgz":{"data":"%s"}`, i, base64.StdEncoding.EncodeToString(make([]byte, 1024)))
	}
	b.WriteString(`}}`)
	r := e.do(ctx, http.MethodPut, "/many", adminToken, strings.NewReader(b.String()))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "one attachment") {
		t.Fatalf("got %d %s, want 400 with %q", r.status, r.body, "one attachment")
	}
	if n := backend.n.Load(); n > 1 {
		t.Errorf("%d attachments were stored", n)
	}
	if keys := e.keys(ctx); len(keys) != 0 {
		t.Errorf("left behind: %v", keys)
	}
}

// TestPublishStorageReadFailure: a storage failure while the received
// tarball is checked is an internal error (500), not a bad tarball (400),
// which would tell npm not to retry a publish that was fine.
func TestPublishStorageReadFailure(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, &storagetest.FailingReads{Backend: memory.New(), Prefix: rootPrefix + "uploads/"})
	r := e.do(ctx, http.MethodPut, "/fine", adminToken, bytes.NewReader(newPublish(t, "fine", "1.0.0").body()))
	if r.status != http.StatusInternalServerError {
		t.Fatalf("got %d %s, want 500", r.status, r.body)
	}
}
