package pypi

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// continuationMetadata is core metadata whose Description header goes on
// for n continuation lines: the input that made the parser quadratic.
func continuationMetadata(n int) []byte {
	var b strings.Builder
	b.WriteString("Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nDescription: start\n")
	for range n {
		b.WriteString("        |\n")
	}
	return []byte(b.String())
}

// BenchmarkParseMetadataContinuation parses 100,000 continuation lines
// (1 MB): linear, a few milliseconds; the quadratic parser took seconds.
func BenchmarkParseMetadataContinuation(b *testing.B) {
	in := continuationMetadata(100_000)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseMetadata(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseMetadataBounds: the parser is linear (100,000 continuation
// lines parse well within a second; the quadratic one took ~10 s), and
// header lines and field sizes are capped.
func TestParseMetadataBounds(t *testing.T) {
	t.Run("linear", func(t *testing.T) {
		in := continuationMetadata(100_000)
		start := time.Now()
		m, err := ParseMetadata(in)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("100,000 continuation lines took %v", d)
		}
		if want := "start" + strings.Repeat("\n|", 100_000); m.Description != want {
			t.Errorf("description has %d bytes, want %d", len(m.Description), len(want))
		}
	})
	head := "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n"
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"lines at the cap", head + strings.Repeat("Classifier: x\n", maxMetadataLines-3), true},
		{"lines over the cap", head + strings.Repeat("Classifier: x\n", maxMetadataLines-2), false},
		{"continuation lines count", head + "Summary: s\n" + strings.Repeat(" x\n", maxMetadataLines), false},
		{"body lines do not count", head + "\n" + strings.Repeat("line\n", maxMetadataLines), true},
		{"field at the cap", head + "Summary: " + strings.Repeat("s", maxMetadataField) + "\n", true},
		{"field over the cap", head + "Summary: " + strings.Repeat("s", maxMetadataField+1) + "\n", false},
		{"continued field over the cap", head + "Summary: s\n" + strings.Repeat(" "+strings.Repeat("s", 1023)+"\n", 1024), false},
		{"empty header name", head + ": x\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMetadata([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, core.ErrInvalidArgument) {
				t.Errorf("error %v is not ErrInvalidArgument", err)
			}
		})
	}
}
