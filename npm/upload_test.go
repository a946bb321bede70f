package npm

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/counting"
)

func TestParsePublish(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		maxMeta  int64
		wantErr  error
		wantData []string // decoded attachments, in order
		check    func(t *testing.T, pr *publishRequest)
	}{
		{name: "attachment last", body: `{"_id":"a","name":"a","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"a"}},"_attachments":{"a-1.0.0.tgz":{"content_type":"x","data":"aGVsbG8=","length":5}}}`,
			wantData: []string{"hello"}, check: func(t *testing.T, pr *publishRequest) {
				if pr.Name != "a" || pr.DistTags["latest"] != "1.0.0" || len(pr.Versions) != 1 || pr.Attachments[0].DeclaredLength != 5 {
					t.Errorf("parsed %+v", pr)
				}
			}},
		{name: "attachment first, length after data", body: `{"_attachments":{"f.tgz":{"data":"aGVsbG8=","length":5}},"name":"b","versions":{}}`,
			wantData: []string{"hello"}, check: func(t *testing.T, pr *publishRequest) {
				if pr.Name != "b" || pr.Attachments[0].File != "f.tgz" || pr.Attachments[0].DeclaredLength != 5 {
					t.Errorf("parsed %+v", pr)
				}
			}},
		{name: "escaped slash and newlines", body: `{"_attachments":{"f":{"data":"P\/8\nA"}}}`, wantData: []string{"\x3f\xff\x00"}},
		{name: "white space", body: " {\n \"_attachments\" : { \"f\" : { \"data\" : \"aGk=\" } } }\n", wantData: []string{"hi"}},
		{name: "two attachments", body: `{"_attachments":{"f":{"data":"YQ=="},"g":{"data":"Yg=="}}}`, wantErr: core.ErrInvalidArgument},
		{name: "no attachments", body: `{"name":"c","versions":{"1.0.0":{}},"readme":"long"}`},
		{name: "corrupt base64", body: `{"_attachments":{"f":{"data":"a*b"}}}`, wantErr: core.ErrInvalidArgument},
		{name: "data not a string", body: `{"_attachments":{"f":{"data":12}}}`, wantErr: core.ErrInvalidArgument},
		{name: "no data", body: `{"_attachments":{"f":{"length":12}}}`, wantErr: core.ErrInvalidArgument},
		{name: "unicode escape in data", body: `{"_attachments":{"f":{"data":"\u0041"}}}`, wantErr: core.ErrInvalidArgument},
		{name: "unterminated data", body: `{"_attachments":{"f":{"data":"aGVsbG8`, wantErr: core.ErrInvalidArgument},
		{name: "trailing data", body: `{"name":"a"} {}`, wantErr: core.ErrInvalidArgument},
		{name: "not an object", body: `[1]`, wantErr: core.ErrInvalidArgument},
		{name: "metadata too large", body: `{"readme":"` + strings.Repeat("x", 2000) + `"}`, maxMeta: 1000, wantErr: core.ErrTooLarge},
		{name: "large attachment within a small metadata limit", body: `{"name":"d","_attachments":{"f":{"data":"` +
			strings.Repeat("QUFB", 1000) + `"}}}`, maxMeta: 200, wantData: []string{strings.Repeat("AAA", 1000)}},
		{name: "tarball too large", body: `{"_attachments":{"f":{"data":"` + strings.Repeat("QUFB", 1000) + `"}}}`,
			wantErr: core.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stored []string
			maxMeta := tt.maxMeta
			if maxMeta == 0 {
				maxMeta = 1 << 20
			}
			maxTarball := int64(1 << 20)
			if errors.Is(tt.wantErr, core.ErrTooLarge) && tt.maxMeta == 0 {
				maxTarball = 100
			}
			pr, err := parsePublish(strings.NewReader(tt.body), maxMeta, maxTarball, func(r io.Reader) (string, error) {
				b, err := io.ReadAll(r)
				if err != nil {
					return "k", err
				}
				stored = append(stored, string(b))
				return "k", nil
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(stored, "|") != strings.Join(tt.wantData, "|") {
				t.Errorf("stored %q, want %q", stored, tt.wantData)
			}
			for i, a := range pr.Attachments {
				sum := sha1.Sum([]byte(stored[i]))
				if a.SHA1 != hex.EncodeToString(sum[:]) || a.Size != int64(len(stored[i])) {
					t.Errorf("attachment %d: size %d sha1 %s", i, a.Size, a.SHA1)
				}
			}
			if tt.check != nil {
				tt.check(t, pr)
			}
		})
	}
}

// TestParsePublishStreams checks that a large attachment is not buffered:
// the storage side gets decoded bytes while most of the body is still
// unsent (io.Pipe writes block until read, so the writer cannot be done).
func TestParsePublishStreams(t *testing.T) {
	const size = 32 << 20
	pr, pw := io.Pipe()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		pw.Write([]byte(`{"name":"big","_attachments":{"big-1.0.0.tgz":{"data":"`))
		chunk := bytes.Repeat([]byte("QUFB"), 1<<14)
		for written := 0; written < size/3*4; written += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Write([]byte(`"}}}`))
		pw.Close()
	}()
	var n int64
	_, err := parsePublish(pr, 1<<20, 1<<30, func(r io.Reader) (string, error) {
		first := make([]byte, 1<<20)
		if _, err := io.ReadFull(r, first); err != nil {
			return "k", err
		}
		select {
		case <-sent:
			t.Error("the whole body was read before the attachment reached storage")
		default:
		}
		m, err := io.Copy(io.Discard, r)
		n = int64(len(first)) + m
		return "k", err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < size-(1<<16) {
		t.Errorf("decoded %d bytes", n)
	}
}

func BenchmarkParsePublish(b *testing.B) {
	body := []byte(`{"name":"big","_attachments":{"f":{"data":"` + strings.Repeat("QUFB", 4<<20/3) + `"}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parsePublish(bytes.NewReader(body), 1<<20, 1<<30, func(r io.Reader) (string, error) {
			_, err := io.Copy(io.Discard, r)
			return "k", err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// cycleReader repeats its pattern forever.
type cycleReader struct {
	pattern string
	off     int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.pattern[c.off]
		c.off = (c.off + 1) % len(c.pattern)
	}
	return len(p), nil
}

// TestParsePublishCountsEveryByte: bytes the base64 decoder skips (raw
// newlines, \n escapes) count against the limits, so an endless body of
// them is refused after about maxMeta plus the base64 length of maxTarball
// bytes, not read forever.
func TestParsePublishCountsEveryByte(t *testing.T) {
	const maxMeta, maxTarball = 1 << 10, 1 << 12
	prefix := `{"name":"a","_attachments":{"f":{"data":"`
	for _, tc := range []struct {
		name    string
		body    func() io.Reader
		wantErr error
	}{
		{"endless raw newlines", func() io.Reader {
			return io.MultiReader(strings.NewReader(prefix), repeatReader('\n'))
		}, core.ErrTooLarge},
		{"endless CRLF", func() io.Reader {
			return io.MultiReader(strings.NewReader(prefix), &cycleReader{pattern: "\r\n"})
		}, core.ErrTooLarge},
		{"endless escaped newlines", func() io.Reader {
			return io.MultiReader(strings.NewReader(prefix), &cycleReader{pattern: `\n`})
		}, core.ErrTooLarge},
		{"endless base64 with newlines", func() io.Reader {
			return io.MultiReader(strings.NewReader(prefix), &cycleReader{pattern: "QUFB\n"})
		}, core.ErrTooLarge},
		{"newlines beyond the metadata budget", func() io.Reader {
			return strings.NewReader(prefix + "QUFB" + strings.Repeat("\n", 2*maxMeta) + `"}}}`)
		}, core.ErrTooLarge},
		{"wrapped base64 within the budget", func() io.Reader {
			return strings.NewReader(prefix + strings.Repeat("QUFB\n", 100) + `"}}}`)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &counting.Reader{R: tc.body()}
			_, err := parsePublish(src, maxMeta, maxTarball, func(r io.Reader) (string, error) {
				_, err := io.Copy(io.Discard, r)
				return "k", err
			})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			// The body reader buffers 64 KiB twice; beyond that, only the
			// limits.
			if limit := int64(maxMeta+base64.StdEncoding.EncodedLen(maxTarball+1)) + 2*64<<10 + 4096; src.N > limit {
				t.Errorf("read %d bytes of the body, want at most %d", src.N, limit)
			}
		})
	}
}
