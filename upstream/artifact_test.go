package upstream

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// artifactOrigin serves body at every path, claiming length bytes (the
// body's own length when negative), and then cutting off.
func artifactOrigin(t *testing.T, body []byte, length int) *origin {
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if length < 0 {
			length = len(body)
		}
		w.Header().Set("Content-Length", strconv.Itoa(length))
		w.Write(body)
		if length > len(body) {
			panic(http.ErrAbortHandler) // a connection broken off mid-body
		}
	})
}

func integrityOf(b []byte) []Digest {
	sum := sha512.Sum512(b)
	d, err := ParseIntegrity("sha512-" + base64.StdEncoding.EncodeToString(sum[:]))
	if err != nil {
		panic(err)
	}
	return d
}

func artReq(digests []Digest) ArtifactRequest {
	return ArtifactRequest{Name: "pkg", Key: "npm/upstream/pkg/-/pkg-1.0.0.tgz", Path: "/pkg/-/pkg-1.0.0.tgz",
		StagePrefix: "npm/uploads/", Digests: digests}
}

// assertNoObjects fails when anything but lease-free cache keys is stored
// below prefix.
func assertEmpty(t *testing.T, st *core.Storage, prefix string) {
	t.Helper()
	_ = st.Walk(t.Context(), prefix, func(o core.ObjectInfo) error {
		t.Errorf("left behind: %s", o.Key)
		return nil
	})
}

func TestArtifactStreamedVerifiedAndCached(t *testing.T) {
	body := bytes.Repeat([]byte("tarball "), 100_000)
	o := artifactOrigin(t, body, -1)
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	for i, wantCached := range []bool{false, true, true} {
		a, err := c.Artifact(t.Context(), artReq(integrityOf(body)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(a.Body)
		a.Body.Close()
		if err != nil || !bytes.Equal(got, body) || a.Size != int64(len(body)) {
			t.Fatalf("read %d: %v, %d bytes, size %d", i, err, len(got), a.Size)
		}
		if i == 0 {
			// The fill ends after the client's last byte: wait for it.
			waitFill(t, c, artReq(nil).Key)
		}
		if a.Cached != wantCached {
			t.Fatalf("read %d: cached=%v", i, a.Cached)
		}
	}
	if o.hits.Load() != 1 {
		t.Fatalf("%d upstream requests", o.hits.Load())
	}
	assertEmpty(t, c.cfg.Storage, "npm/uploads/")
}

func TestArtifactBadBodiesAreNotCached(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 200_000)
	other := bytes.Repeat([]byte("y"), len(body))
	tests := []struct {
		name    string
		serve   []byte
		claim   int
		digests []Digest
		size    int64
		want    error
	}{
		{"truncated", body[:100_000], len(body), integrityOf(body), 0, ErrTruncated},
		{"truncated, no digest", body[:100_000], len(body), nil, 0, ErrTruncated},
		{"digest mismatch", other, -1, integrityOf(body), 0, ErrDigestMismatch},
		{"size promised differs", body, -1, nil, int64(len(body) + 1), ErrDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := artifactOrigin(t, tt.serve, tt.claim)
			c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
			req := artReq(tt.digests)
			req.Size = tt.size
			a, err := c.Artifact(t.Context(), req)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(a.Body)
				a.Body.Close()
				if err != nil && int64(len(got)) >= int64(len(body)) {
					t.Fatalf("the client got all %d bytes before the failure", len(got))
				}
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			waitFill(t, c, req.Key)
			if _, err := c.cfg.Storage.Stat(t.Context(), req.Key); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("cached: %v", err)
			}
			assertEmpty(t, c.cfg.Storage, "npm/")
		})
	}
}

func TestArtifactFillSurvivesClientDisconnect(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 500_000)
	o := artifactOrigin(t, body, -1)
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	a, err := c.Artifact(t.Context(), artReq(integrityOf(body)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(a.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	a.Body.Close() // the client hangs up
	waitFill(t, c, artReq(nil).Key)
	b, err := c.Artifact(t.Context(), artReq(integrityOf(body)))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b.Body)
	b.Body.Close()
	if !b.Cached || !bytes.Equal(got, body) {
		t.Fatalf("cached=%v, %d bytes", b.Cached, len(got))
	}
}

func TestParseIntegrityAndHexDigest(t *testing.T) {
	if _, err := ParseIntegrity("sha512-!!!"); err == nil {
		t.Fatal("bad base64 accepted")
	}
	if d, err := ParseIntegrity("md4-AAAA sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk="); err != nil || len(d) != 1 || d[0].Algorithm != "sha1" {
		t.Fatal(d, err)
	}
	if _, err := HexDigest("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"); err != nil {
		t.Fatal(err)
	}
	if _, err := HexDigest("sha1", "da39"); err == nil {
		t.Fatal("short digest accepted")
	}
}

// waitFill waits until no fill of key is in flight in c.
func waitFill(t testing.TB, c *Client, key string) {
	t.Helper()
	c.flights.mu.Lock()
	f := c.flights.m["a:"+key]
	c.flights.mu.Unlock()
	if f != nil {
		if err := f.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// While another process holds the key's lease (it is filling the cache),
// a miss streams from the upstream without caching.
func TestArtifactPassesThroughWhileAnotherProcessFills(t *testing.T) {
	body := bytes.Repeat([]byte("z"), 100_000)
	o := artifactOrigin(t, body, -1)
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	req := artReq(integrityOf(body))
	other := newTestClient(t, c.cfg.Storage, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	release, ok := other.acquire(t.Context(), req.Key)
	if !ok {
		t.Fatal("lease")
	}
	defer release()
	a, err := c.Artifact(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(a.Body)
	a.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("%v, %d bytes", err, len(got))
	}
	waitFill(t, c, req.Key)
	if _, err := c.cfg.Storage.Stat(t.Context(), req.Key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("cached under another's lease: %v", err)
	}
}

// Callers of this process that waited for a pass-through (another process
// holds the lease) wait for the other process's copy instead of streaming
// the artifact once more each, and none fails for it.
func TestArtifactWaitersOfAPassThroughWaitForTheOtherProcess(t *testing.T) {
	body := bytes.Repeat([]byte("w"), 100_000)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond) // long enough for every caller to join the first flight
		w.Write(body)
	})
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	req := artReq(integrityOf(body))
	other := newTestClient(t, c.cfg.Storage, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	release, ok := other.acquire(t.Context(), req.Key)
	if !ok {
		t.Fatal("lease")
	}
	const callers = 10
	done := make(chan error, callers)
	for range callers {
		go func() {
			a, err := c.Artifact(t.Context(), req)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(a.Body)
				a.Body.Close()
				if err == nil && !bytes.Equal(got, body) {
					err = fmt.Errorf("%d bytes, cached %v", len(got), a.Cached)
				}
			}
			done <- err
		}()
	}
	// The first caller streams it; then the other process's copy lands.
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := c.cfg.Storage.Put(t.Context(), req.Key, bytes.NewReader(body), int64(len(body)), core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	release()
	for range callers - 1 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if n := o.hits.Load(); n != 1 {
		t.Errorf("the upstream was asked %d times, want once", n)
	}
}
