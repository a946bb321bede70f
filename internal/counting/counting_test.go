package counting_test

import (
	"io"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/internal/counting"
)

func TestReader(t *testing.T) {
	r := &counting.Reader{R: strings.NewReader("twelve bytes")}
	if _, err := io.CopyN(io.Discard, r, 5); err != nil || r.N != 5 {
		t.Fatalf("after 5: %d, %v", r.N, err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil || r.N != 12 {
		t.Fatalf("at the end: %d, %v", r.N, err)
	}
}
