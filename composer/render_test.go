package composer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// TestIncrementalRender changes a package document step by step (versions
// added in random order, tagged and dev, some replaced, some deleted) and
// checks after each step that rendering from the previous rendering gives
// the same files as rendering from nothing.
func TestIncrementalRender(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ed := new(core.EntryDoc[packageHead])
	var prev *rendered
	descriptions := []string{`"a"`, `"b"`}
	for step := range 300 {
		v := fmt.Sprintf("%d.%d.%d", rng.IntN(3), rng.IntN(5), rng.IntN(5))
		switch rng.IntN(10) {
		case 0:
			v = fmt.Sprintf("dev-b%d", rng.IntN(4))
		case 1:
			v = fmt.Sprintf("%d.x-dev", rng.IntN(3))
		}
		id, err := NormalizeVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ed.Get(id); ok && rng.IntN(2) == 0 {
			ed.Delete(id)
		} else {
			fields := map[string]json.RawMessage{"description": json.RawMessage(descriptions[rng.IntN(2)])}
			if rng.IntN(3) == 0 {
				fields["license"] = json.RawMessage(`"MIT"`)
			}
			rec := versionRecord{Version: v, Object: fmt.Sprint("o", step), SHA1: fmt.Sprintf("%040x", step),
				Time: time.Unix(int64(step), 0), Fields: fields}
			data, _ := json.Marshal(rec)
			if err := ed.Set(id, data); err != nil {
				t.Fatal(err)
			}
		}
		if ed.Len() == 0 {
			continue
		}
		// The document as stored and read back, as load sees it.
		b, _ := ed.MarshalBinary()
		read := new(core.EntryDoc[packageHead])
		if err := read.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		info := core.ObjectInfo{ETag: fmt.Sprint(step)}
		got, err := render("acme/x", read, info, testBaseURL, prev)
		if err != nil {
			t.Fatal(err)
		}
		want, err := render("acme/x", read, info, testBaseURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.tagged, want.tagged) || !bytes.Equal(got.dev, want.dev) {
			t.Fatalf("step %d (%s): incremental rendering differs:\n%s\n%s\nwant\n%s\n%s", step, v, got.tagged, got.dev, want.tagged, want.dev)
		}
		prev = got
	}
}
