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

// TestReceive reads part of a body and refuses: the rest is drained, and
// what was read counts against the announced length.
func TestReceive(t *testing.T) {
	refused := errors.New("refused")
	for _, tc := range []struct {
		name    string
		limit   int64
		read    int64
		err     error
		drained bool
	}{
		{"accepted", 100, 10, nil, false},
		{"refused after reading", 100, 10, refused, true},
		{"over the limit", 5, 10, core.ErrTooLarge, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.NewReader(strings.Repeat("x", 50))
			req := core.NewRequest("PUT", "/x", body)
			_, err := Receive(req, tc.limit, func(r io.Reader) (*core.Response, error) {
				if _, err := io.CopyN(io.Discard, r, tc.read); err != nil {
					return nil, err
				}
				return core.NewResponse(201), tc.err
			})
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) || MustClose(err) {
				t.Errorf("Receive: %v; want %v, not closing", err, tc.err)
			}
			if drained := body.Len() == 0; drained != tc.drained {
				t.Errorf("%d bytes left; want drained %v", body.Len(), tc.drained)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type errorReader struct{}

func (errorReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
