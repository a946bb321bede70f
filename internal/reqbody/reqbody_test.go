package reqbody

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestLimited(t *testing.T) {
	for _, tc := range []struct {
		body  string
		limit int64
		err   error
	}{{"abc", 3, nil}, {"abcd", 3, core.ErrTooLarge}, {"", 0, nil}, {"a", 0, core.ErrTooLarge}} {
		b, err := io.ReadAll(&Limited{R: strings.NewReader(tc.body), Left: tc.limit})
		if !errors.Is(err, tc.err) || (err == nil && string(b) != tc.body) {
			t.Errorf("%q with limit %d: %q, %v; want %v", tc.body, tc.limit, b, err, tc.err)
		}
	}
}

func TestDrainRefused(t *testing.T) {
	refused := errors.New("refused")
	for _, tc := range []struct {
		name   string
		length int64
		body   io.Reader
		close  bool
	}{
		{"small rest", 10, strings.NewReader("0123456789"), false},
		{"declared too large", MaxDrain + 100, strings.NewReader("x"), true},
		{"found too large", -1, io.LimitReader(zeros{}, MaxDrain+10), true},
		{"broken body", -1, io.MultiReader(strings.NewReader("x"), errorReader{}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := core.NewRequest("PUT", "/x", nil)
			req.Body, req.ContentLength = tc.body, tc.length
			err := DrainRefused(req, 0, refused)
			if !errors.Is(err, refused) || MustClose(err) != tc.close {
				t.Errorf("DrainRefused: %v, close=%v; want close=%v", err, MustClose(err), tc.close)
			}
		})
	}
	if err := ReadError(errors.New("unexpected EOF")); !errors.Is(err, core.ErrInvalidArgument) {
		t.Errorf("ReadError of a broken body: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type errorReader struct{}

func (errorReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
