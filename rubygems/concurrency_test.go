package rubygems

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestConcurrentPushes pushes 20 versions of one gem and one version each
// of 10 other gems at once through two handlers sharing one backend, as
// two registry processes on one bucket would (memory, filesystem, MinIO),
// with compactions of /versions every 4 records happening meanwhile. Every
// version must land; /versions must list each once, in the same bytes
// through both handlers and through a third that starts afresh.
func TestConcurrentPushes(t *testing.T) {
	backends := append([]e2etest.NamedBackend{{Name: "memory", Open: func(*testing.T) core.Backend { return memory.New() }}},
		e2etest.FilesystemAndS3("smartregistry-rubygems-test")...)
	for _, be := range backends {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			backend := be.Open(t)
			cfg := Config{CompactEvery: 4}
			envs := []*testEnv{newTestEnvOn(t, backend, false, cfg), newTestEnvOn(t, backend, false, cfg)}
			var gems []fixture
			for i := range 20 {
				gems = append(gems, fixture{name: "race", version: fmt.Sprintf("1.0.%d", i)})
			}
			for i := range 10 {
				gems = append(gems, fixture{name: fmt.Sprintf("other%d", i), version: "1.0.0"})
			}
			bodies := make([][]byte, len(gems))
			for i, g := range gems {
				bodies[i] = g.gem(t)
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan string, len(gems))
			for i := range gems {
				wg.Go(func() {
					<-start
					if r := envs[i%2].push(ctx, bodies[i]); r.status != 200 {
						errs <- fmt.Sprintf("push %s: %d %s", gems[i].fullName(), r.status, r.body)
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			fresh := newTestEnvOn(t, backend, false, cfg)
			var bodiesSeen []string
			for i, e := range append(envs, fresh) {
				body := e.get(ctx, "/versions").body
				bodiesSeen = append(bodiesSeen, body)
				if i > 0 && body != bodiesSeen[0] {
					t.Errorf("handler %d reads other /versions bytes:\n%s\nthan handler 0:\n%s", i, body, bodiesSeen[0])
				}
			}
			listed := map[string]int{}
			_, lines, _ := strings.Cut(bodiesSeen[0], "\n---\n")
			for line := range strings.SplitSeq(strings.TrimSuffix(lines, "\n"), "\n") {
				f := strings.Fields(line)
				if len(f) != 3 {
					t.Fatalf("malformed line %q", line)
				}
				for v := range strings.SplitSeq(f[1], ",") {
					listed[f[0]+" "+v]++
				}
			}
			for _, g := range gems {
				if n := listed[g.name+" "+g.version]; n != 1 {
					t.Errorf("%s listed %d times", g.fullName(), n)
				}
			}
			if len(listed) != len(gems) {
				t.Errorf("/versions lists %d versions, want %d", len(listed), len(gems))
			}
			// The last line of each gem carries its info file's MD5.
			if info := fresh.get(ctx, "/info/race"); strings.Count(info.body, "\n") != 21 {
				t.Errorf("/info/race:\n%s", info.body)
			}
			var keys []string
			for _, k := range fresh.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
				if strings.HasPrefix(k, logPrefix) {
					keys = append(keys, k)
				}
			}
			if len(keys) > 2*4+1 {
				t.Errorf("compaction left %d log records", len(keys))
			}
			slices.Sort(keys)
		})
	}
}

// TestE2EConcurrentPushesS3 pushes 20 versions of one gem at once through
// two example servers (two Registry instances) sharing one MinIO bucket.
// Every push lands, and both servers serve the same /versions, listing
// each version once.
func TestE2EConcurrentPushesS3(t *testing.T) {
	e2etest.S3Env(t)
	bucket := "rubygems-race-" + strings.ToLower(e2etest.Unique("b")[2:])
	token := "race-" + e2etest.Unique("token")
	env := []string{"SMARTREGISTRY_S3_BUCKET=" + bucket, "SMARTREGISTRY_TOKEN=" + token}
	var urls []string
	for range 2 {
		srv := e2etest.StartServer(t, e2etest.Options{S3: true, Env: env})
		urls = append(urls, srv.URL+"/rubygems")
	}
	call := func(method, url string, body []byte) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		req.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	name := e2etest.Unique("race")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		gem := fixture{name: name, version: fmt.Sprintf("1.0.%d", i)}.gem(t)
		wg.Go(func() {
			<-start
			if status, body := call(http.MethodPost, urls[i%2]+"/api/v1/gems", gem); status != http.StatusOK {
				t.Errorf("push 1.0.%d: %d %s", i, status, body)
			}
		})
	}
	close(start)
	wg.Wait()
	_, first := call(http.MethodGet, urls[0]+"/versions", nil)
	_, second := call(http.MethodGet, urls[1]+"/versions", nil)
	if first != second {
		t.Errorf("the servers serve different /versions:\n%s\n%s", first, second)
	}
	for i := range 20 {
		if n := strings.Count(first, fmt.Sprintf("1.0.%d ", i)) + strings.Count(first, fmt.Sprintf("1.0.%d,", i)); n != 1 {
			t.Errorf("1.0.%d listed %d times:\n%s", i, n, first)
		}
	}
	if _, info := call(http.MethodGet, urls[1]+"/info/"+name, nil); strings.Count(info, "\n") != 21 {
		t.Errorf("/info/%s:\n%s", name, info)
	}
}

// TestVersionsCompaction: a handler that read /versions once and then
// fell behind by several compactions (whose records are gone) reads the
// same bytes as the writer and as a fresh handler; and what it read first
// is a prefix of what it reads after.
func TestVersionsCompaction(t *testing.T) {
	ctx := t.Context()
	backend := memory.New()
	cfg := Config{CompactEvery: 3}
	writer, reader := newTestEnvOn(t, backend, false, cfg), newTestEnvOn(t, backend, false, cfg)
	writer.mustPush(ctx, fixture{name: "first", version: "1.0.0"})
	early := reader.get(ctx, "/versions").body
	for i := range 25 {
		writer.mustPush(ctx, fixture{name: fmt.Sprintf("gem%d", i), version: "1.0.0"})
	}
	late := reader.get(ctx, "/versions").body
	if want := writer.get(ctx, "/versions").body; late != want {
		t.Errorf("the reader that fell behind reads\n%s\nthe writer\n%s", late, want)
	}
	if fresh := newTestEnvOn(t, backend, false, cfg).get(ctx, "/versions").body; fresh != late {
		t.Errorf("a fresh reader reads\n%s", fresh)
	}
	if !strings.HasPrefix(late, early) || strings.Count(late, "\n") != 2+26 {
		t.Errorf("before:\n%s\nafter:\n%s", early, late)
	}
	var logs, bases int
	for _, k := range writer.keys(ctx) {
		switch {
		case strings.HasPrefix(k, logPrefix):
			logs++
		case strings.HasPrefix(k, basePrefix):
			bases++
		}
	}
	if logs > 2*cfg.CompactEvery || bases > 2 {
		t.Errorf("after compactions: %d log records, %d bases", logs, bases)
	}
}
