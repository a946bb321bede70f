package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

var listCases = []testCase{
	{"ListPagination", testListPagination},
}

// listKeys builds the listing fixture: nested keys, keys whose order
// differs from a directory walk's ("x!y" < "x/y" < "x0"), one page of many
// objects and many common prefixes. No key is a directory of another key,
// which the filesystem backend cannot store.
func listKeys() []string {
	keys := []string{"a-b", "a/b/c", "a/b/d", "a/c", "a/d/e/f", "a0", "b", "sp ace", "x!y", "x/y", "x/z/w", "x0", "ü/k"}
	for i := range 120 {
		keys = append(keys, fmt.Sprintf("m/%03d", i))
	}
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("n/%02d/leaf", i))
	}
	return keys
}

// wantListing is the reference listing: every entry (object key, or common
// prefix ending in "/") after startAfter, in order. A common prefix that
// startAfter lies in is skipped.
func wantListing(keys []string, prefix, delimiter, startAfter string) []string {
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || k <= startAfter {
			continue
		}
		if i := strings.Index(k[len(prefix):], "/"); delimiter == "/" && i >= 0 {
			cp := k[:len(prefix)+i+1]
			if strings.HasPrefix(startAfter, cp) || (len(out) > 0 && out[len(out)-1] == cp) {
				continue
			}
			k = cp
		}
		out = append(out, k)
	}
	return out
}

func testListPagination(t *testing.T, e *env) {
	keys := listKeys()
	slices.Sort(keys)
	infos := make(map[string]core.ObjectInfo, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			info, err := putString(t.Context(), e.b, k, "content of "+k, core.PutOptions{})
			if err != nil {
				t.Errorf("put %s: %v", k, err)
				return
			}
			mu.Lock()
			infos[k] = info
			mu.Unlock()
		})
	}
	wg.Wait()
	e.remove(t, keys...)
	if t.Failed() {
		t.FailNow()
	}
	second := e.store.Open(t)
	type query struct {
		prefix, startAfter string
	}
	queries := []query{{"", ""}, {"a", ""}, {"a/", ""}, {"a/b", ""}, {"a/b/c", ""}, {"x", ""}, {"x/", ""},
		{"m/", ""}, {"m/01", ""}, {"n/", ""}, {"zzz", ""}, {"ü/", ""},
		{"", "a/b/c"}, {"", "a/"}, {"", "m/050"}, {"m/", "m/050"}, {"n/", "n/05/leaf"}, {"n/", "n/05"}, {"", "x/"}}
	for _, q := range queries {
		for _, delimiter := range []string{"", "/"} {
			want := wantListing(keys, q.prefix, delimiter, q.startAfter)
			for _, limit := range []int{1, 3, 7, 0} {
				name := fmt.Sprintf("prefix=%q,delimiter=%q,startAfter=%q,limit=%d", q.prefix, delimiter, q.startAfter, limit)
				b := e.b
				if limit%2 == 1 {
					b = second
				}
				got := listAll(t, b, name, q.prefix, core.ListOptions{StartAfter: q.startAfter, Limit: limit, Delimiter: delimiter}, infos)
				if !slices.Equal(got, want) {
					t.Errorf("%s:\n got %q\nwant %q", name, got, want)
				}
			}
		}
	}
}

// listAll follows a listing to its end and returns its entries in order,
// checking every page on the way.
func listAll(t *testing.T, b core.Backend, name, prefix string, opts core.ListOptions, infos map[string]core.ObjectInfo) []string {
	t.Helper()
	limit := opts.Limit
	if limit == 0 {
		limit = core.DefaultListLimit
	}
	var entries []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%s: no end after %d pages", name, pages)
		}
		page, err := b.List(t.Context(), prefix, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var pageEntries []string
		for _, o := range page.Objects {
			want, ok := infos[o.Key]
			if !ok || o.Size != want.Size || o.ETag != want.ETag || o.ModTime.IsZero() {
				t.Errorf("%s: listed %+v, put gave %+v", name, o, want)
			}
			pageEntries = append(pageEntries, o.Key)
		}
		for _, cp := range page.CommonPrefixes {
			if !strings.HasSuffix(cp, "/") {
				t.Errorf("%s: common prefix %q does not end in /", name, cp)
			}
			pageEntries = append(pageEntries, cp)
		}
		if !slices.IsSorted(page.CommonPrefixes) || !slices.IsSortedFunc(page.Objects, func(a, b core.ObjectInfo) int { return strings.Compare(a.Key, b.Key) }) {
			t.Errorf("%s: page not sorted: %q", name, pageEntries)
		}
		slices.Sort(pageEntries)
		if len(pageEntries) > limit {
			t.Errorf("%s: %d entries in a page of at most %d", name, len(pageEntries), limit)
		}
		entries = append(entries, pageEntries...)
		if page.NextStartAfter == "" {
			return entries
		}
		if len(pageEntries) == 0 {
			t.Fatalf("%s: empty page with NextStartAfter %q", name, page.NextStartAfter)
		}
		opts.StartAfter = page.NextStartAfter
	}
}
