package npm

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCrashStates makes, directly in storage, the state a crash leaves
// between each two steps of a publish (staged; placed but not listed) and
// checks that nothing unlisted is served and that the same publish then
// succeeds; and it loses the answer to the packument's write.
func TestCrashStates(t *testing.T) {
	for _, be := range e2etest.FilesystemAndS3("smartregistry-npm-test") {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			lose := false
			backend := &storagetest.LostAnswers{Backend: be.Open(t), Lose: func(key string) bool {
				return lose && strings.HasSuffix(key, "/packument.json")
			}}
			e := newTestEnv(t, backend)
			tarballURL := func(name, v string) string { return "/" + name + "/-/" + tarballFile(name, v) }

			// 1. Crash after the body was staged: an upload object, nothing else.
			p := newPublish(t, "staged", "1.0.0")
			staged := uploadKey(time.Now().Add(-2 * time.Hour))
			if _, err := e.storage.Put(ctx, staged, bytes.NewReader(p.tarball), int64(len(p.tarball)), core.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			if r := e.do(ctx, http.MethodGet, tarballURL("staged", "1.0.0"), adminToken, nil); r.status != http.StatusNotFound {
				t.Errorf("staged tarball served: %d", r.status)
			}
			e.publish(ctx, adminToken, p)
			if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
				t.Errorf("sweep of the staged leftover: %d, %v", n, err)
			}

			// 2. Crash after the tarball was placed, before the document
			// listed it: an orphan under a key of its own.
			p = newPublish(t, "placed", "1.0.0")
			orphan := tarballKey("placed", core.StageID(uploadKey(time.Now())))
			if _, err := e.storage.Put(ctx, orphan, bytes.NewReader(p.tarball), int64(len(p.tarball)), core.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			if r := e.do(ctx, http.MethodGet, tarballURL("placed", "1.0.0"), adminToken, nil); r.status != http.StatusNotFound {
				t.Errorf("unlisted tarball served: %d", r.status)
			}
			if r := e.do(ctx, http.MethodGet, "/placed", adminToken, nil); r.status != http.StatusNotFound {
				t.Errorf("package of an unlisted tarball served: %d", r.status)
			}
			// A retry with other bytes (the client rebuilt the tarball) is
			// as welcome as one with the same: the orphan was never listed.
			other := newPublishFrom("placed", "1.0.0", regzip(t, p.tarball))
			e.publish(ctx, adminToken, other)
			if r := e.do(ctx, http.MethodGet, tarballURL("placed", "1.0.0"), adminToken, nil); r.status != http.StatusOK || !bytes.Equal(r.body, other.tarball) {
				t.Errorf("after the retry: %d, %d bytes", r.status, len(r.body))
			}

			// 3. The packument's write happens, its answer is lost.
			lose = true
			p = newPublish(t, "lost", "1.0.0")
			r := e.do(ctx, http.MethodPut, "/lost", adminToken, bytes.NewReader(p.body()))
			lose = false
			if r.status != http.StatusCreated {
				t.Fatalf("publish with a lost answer: %d %s", r.status, r.body)
			}
			if r := e.do(ctx, http.MethodGet, tarballURL("lost", "1.0.0"), adminToken, nil); r.status != http.StatusOK || !bytes.Equal(r.body, p.tarball) {
				t.Errorf("after a lost answer the tarball is %d, %d bytes", r.status, len(r.body))
			}
			// The client, which saw an error, retries: success.
			e.publish(ctx, adminToken, p)
			for _, k := range e.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
			}
		})
	}
}

// TestHookRefusalLeavesNothing refuses the packument's write in a storage
// hook: the publish fails cleanly, nothing of it stays, and a retry once
// the hook allows it succeeds at once (no false 409).
func TestHookRefusalLeavesNothing(t *testing.T) {
	ctx := t.Context()
	refuse := true
	e := newTestEnv(t, nil)
	e.storage = core.NewStorage(e.storage.Backend(), core.StorageHooks{BeforePut: func(_ context.Context, ev core.HookEvent) error {
		if refuse && strings.HasSuffix(ev.Key, "/packument.json") {
			return core.ErrForbidden
		}
		return nil
	}})
	e.h.deps.Storage = e.storage
	before := e.keys(ctx)
	p := newPublish(t, "hooked", "1.0.0")
	if r := e.do(ctx, http.MethodPut, "/hooked", adminToken, bytes.NewReader(p.body())); r.status != http.StatusForbidden {
		t.Fatalf("refused publish: %d %s", r.status, r.body)
	}
	if after := e.keys(ctx); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("a refused publish left %v", after)
	}
	refuse = false
	e.publish(ctx, adminToken, p)
}
