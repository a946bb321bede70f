package s3_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
)

const testPartSize = 5 << 20 // S3's minimum, to keep multipart tests small

// gatedReader yields data; when it reaches gate bytes it reports that on
// reached and waits for release before going on.
type gatedReader struct {
	data    []byte
	pos     int
	gate    int
	reached chan struct{}
	release chan struct{}
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if r.pos == r.gate && r.reached != nil {
		close(r.reached)
		r.reached = nil
		<-r.release
	}
	if r.pos == len(r.data) {
		return 0, io.EOF
	}
	end := len(r.data)
	if r.pos < r.gate {
		end = r.gate
	}
	n := copy(p, r.data[r.pos:end])
	r.pos += n
	return n, nil
}

// TestMultipartConditionOnCompletion starts a conditional upload of
// unknown size that spans several parts, writes the key from elsewhere in
// the middle of it, and expects the upload to fail its condition when it
// completes, not to overwrite the other write.
func TestMultipartConditionOnCompletion(t *testing.T) {
	opts := testOptions(t)
	opts.PartSize = testPartSize
	b := newBackend(t, opts)
	other := newBackend(t, opts)
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789abcdef"), (2*testPartSize+1000)/16)

	tests := []struct {
		name  string
		setup func(t *testing.T) core.PutOptions
	}{
		{"IfAbsent", func(*testing.T) core.PutOptions { return core.PutOptions{IfAbsent: true} }},
		{"IfMatch", func(t *testing.T) core.PutOptions {
			info, err := other.Put(ctx, "doc", strings.NewReader("v1"), 2, core.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return core.PutOptions{IfMatch: info.ETag}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			popts := tt.setup(t)
			reached, release := make(chan struct{}), make(chan struct{})
			r := &gatedReader{data: data, gate: testPartSize + 100, reached: reached, release: release}
			done := make(chan error, 1)
			go func() {
				_, err := b.Put(ctx, "doc", r, -1, popts)
				done <- err
			}()
			<-reached // the first part is read, the upload is under way
			if _, err := other.Put(ctx, "doc", strings.NewReader("theirs"), 6, core.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			close(release)
			if err := <-done; !errors.Is(err, core.ErrPreconditionFailed) {
				t.Errorf("conditional multipart put over a concurrent write: %v, want ErrPreconditionFailed", err)
			}
			if got := read(t, b, "doc"); string(got) != "theirs" {
				t.Errorf("doc is %d bytes, want the concurrent write's", len(got))
			}
			if err := b.Delete(ctx, "doc"); err != nil {
				t.Fatal(err)
			}
		})
	}
	assertNoLeftovers(t, b, opts)
}

// TestMultipartSuccessAndAbort uploads a multipart object of unknown and
// of known size, then fails one in its second part: the failed upload must
// be aborted.
func TestMultipartSuccessAndAbort(t *testing.T) {
	opts := testOptions(t)
	opts.PartSize = testPartSize
	b := newBackend(t, opts)
	ctx := t.Context()
	data := bytes.Repeat([]byte("x"), 2*testPartSize+7)
	for _, size := range []int64{-1, int64(len(data))} {
		info, err := b.Put(ctx, "big", io.MultiReader(bytes.NewReader(data)), size, core.PutOptions{IfAbsent: true})
		if err != nil {
			t.Fatalf("put size %d: %v", size, err)
		}
		if info.Size != int64(len(data)) {
			t.Errorf("put: size %d", info.Size)
		}
		if got := read(t, b, "big"); !bytes.Equal(got, data) {
			t.Errorf("get: %d bytes differ", len(got))
		}
		if err := b.Delete(ctx, "big"); err != nil {
			t.Fatal(err)
		}
	}
	broken := io.MultiReader(bytes.NewReader(data[:testPartSize+10]), errReader{})
	if _, err := b.Put(ctx, "big", broken, -1, core.PutOptions{}); err == nil {
		t.Errorf("put from a failing reader succeeded")
	}
	assertNoLeftovers(t, b, opts)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken stream") }

func read(t *testing.T, b *s3.Backend, key string) []byte {
	t.Helper()
	rc, _, err := b.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func assertNoLeftovers(t *testing.T, b *s3.Backend, opts s3.Options) {
	t.Helper()
	left, err := leftovers(b.Client(), opts.Bucket)
	if err != nil || len(left) > 0 {
		t.Errorf("left behind: %q, %v", left, err)
	}
}
