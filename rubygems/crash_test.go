package rubygems

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCrashStates makes, directly in storage, the state a crash leaves
// between each two steps of a push (staged; placed but not listed; listed
// but not yet in /versions) and loses the answers to the gem document's
// and the /versions record's writes; in each case nothing unlisted is
// served, and the push, or its retry, succeeds with the version listed
// once. On the filesystem and on MinIO.
func TestCrashStates(t *testing.T) {
	for _, be := range e2etest.FilesystemAndS3("smartregistry-rubygems-test") {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			var lose func(key string) bool
			backend := &storagetest.LostAnswers{Backend: be.Open(t), Lose: func(key string) bool { return lose != nil && lose(key) }}
			e := newTestEnvOn(t, backend, false, Config{})
			put := func(key string, data []byte) {
				if _, err := e.storage.Put(ctx, key, bytes.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			listedOnce := func(name, version string) {
				t.Helper()
				n := strings.Count(e.get(ctx, "/versions").body, "\n"+name+" "+version+" ")
				if n != 1 {
					t.Errorf("%s %s listed %d times in /versions:\n%s", name, version, n, e.get(ctx, "/versions").body)
				}
				if r := e.get(ctx, "/gems/"+name+"-"+version+".gem"); r.status != 200 {
					t.Errorf("%s-%s.gem: %d", name, version, r.status)
				}
			}

			// 1. Crash after the gem was staged: not served, swept by age.
			g := fixture{name: "staged", version: "1.0.0"}
			put(core.StageKey(uploadsPrefix, time.Now().Add(-2*time.Hour)), g.gem(t))
			if r := e.get(ctx, "/gems/staged-1.0.0.gem"); r.status != 404 {
				t.Errorf("staged gem served: %d", r.status)
			}
			e.mustPush(ctx, g)
			if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
				t.Errorf("sweep of the staged leftover: %d, %v", n, err)
			}
			listedOnce("staged", "1.0.0")

			// 2. Crash after the gem was placed, before the document listed
			// it: nothing serves it; the push again succeeds.
			g = fixture{name: "placed", version: "1.0.0"}
			put(fileKey("placed", core.StageID(uploadKey(time.Now()))), g.gem(t))
			for _, path := range []string{"/gems/placed-1.0.0.gem", "/info/placed", "/quick/Marshal.4.8/placed-1.0.0.gemspec.rz"} {
				if r := e.get(ctx, path); r.status != 404 {
					t.Errorf("unlisted %s served: %d", path, r.status)
				}
			}
			if strings.Contains(e.get(ctx, "/versions").body, "placed") {
				t.Error("/versions lists a gem nobody listed")
			}
			e.mustPush(ctx, g)
			listedOnce("placed", "1.0.0")

			// 3. The gem document's write happens, its answer is lost: the
			// push succeeds (the document is read again) and so does the
			// client's retry.
			lose = func(key string) bool { return strings.HasPrefix(key, gemsPrefix+"lost/") }
			g = fixture{name: "lost", version: "1.0.0"}
			r := e.push(ctx, g.gem(t))
			lose = nil
			if r.status != 200 {
				t.Fatalf("push with a lost answer: %d %s", r.status, r.body)
			}
			e.mustPush(ctx, g)
			listedOnce("lost", "1.0.0")

			// 4. The /versions record's write happens, its answer is lost.
			lose = func(key string) bool { return strings.HasPrefix(key, logPrefix) }
			g = fixture{name: "lostlog", version: "1.0.0"}
			r = e.push(ctx, g.gem(t))
			lose = nil
			if r.status != 200 {
				t.Fatalf("push with a lost /versions answer: %d %s", r.status, r.body)
			}
			listedOnce("lostlog", "1.0.0")

			// 5. A crash after the document listed the version, before
			// /versions did: the retry of the push appends the line.
			g = fixture{name: "unlogged", version: "1.0.0"}
			gem := g.gem(t)
			id := core.StageID(uploadKey(time.Now()))
			put(fileKey("unlogged", id), gem)
			spec, err := ParseSpec([]byte(g.specYAML()), SpecLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.h.addVersion(ctx, versionRecord{Spec: *spec, SHA256: sha256Hex(gem), Size: int64(len(gem)), Object: id}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(e.get(ctx, "/versions").body, "unlogged") {
				t.Fatal("the set-up already appended to /versions")
			}
			e.mustPush(ctx, g)
			listedOnce("unlogged", "1.0.0")
			// The same, repaired without a retry, by RepairVersions.
			g = fixture{name: "repaired", version: "1.0.0"}
			gem = g.gem(t)
			id = core.StageID(uploadKey(time.Now()))
			put(fileKey("repaired", id), gem)
			spec.Name = "repaired"
			if _, err := e.h.addVersion(ctx, versionRecord{Spec: *spec, SHA256: sha256Hex(gem), Size: int64(len(gem)), Object: id}); err != nil {
				t.Fatal(err)
			}
			if err := e.h.RepairVersions(ctx); err != nil {
				t.Fatal(err)
			}
			listedOnce("repaired", "1.0.0")
			listedOnce("unlogged", "1.0.0")
			for _, k := range e.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
			}
		})
	}
}

// TestVersionsCatchUp: a yank whose /versions line was never written (a
// crash right after the document changed) is caught up by the next push
// of the gem, whose line then says both.
func TestVersionsCatchUp(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t)
	e.mustPush(ctx, fixture{name: "foo", version: "1.0.0"})
	e.mustPush(ctx, fixture{name: "foo", version: "1.1.0"})
	if err := e.h.setYanked(ctx, "foo", "1.0.0", true); err != nil {
		t.Fatal(err)
	}
	e.mustPush(ctx, fixture{name: "foo", version: "1.2.0"})
	body := e.get(ctx, "/versions").body
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	last := strings.Fields(lines[len(lines)-1])
	if len(last) != 3 || last[1] != "1.2.0,-1.0.0" {
		t.Errorf("/versions:\n%s", body)
	}
}
