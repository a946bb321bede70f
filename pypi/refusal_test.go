package pypi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/counting"
	"github.com/smartregistry/smartregistry/internal/reqbody"
)

// bigUpload is an upload form whose file part is size zero bytes, streamed
// rather than held in memory; fields come before the file, as twine sends
// them.
func bigUpload(t *testing.T, filename string, size int64, fields map[string]string) (io.Reader, int64, string) {
	t.Helper()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, k := range []string{":action", "protocol_version", "name", "version"} {
		mw.WriteField(k, fields[k])
	}
	if _, err := mw.CreateFormFile("content", filename); err != nil {
		t.Fatal(err)
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(&head, io.LimitReader(zeros{}, size), strings.NewReader(tail))
	return body, int64(head.Len()) + size + int64(len(tail)), mw.FormDataContentType()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestRefusalBeforeTheFile uploads a body larger than the socket buffers
// that is refused before its file part is read. Sent as twine sends it
// (the whole body written before the answer is read), and with a plain
// net/http client, the answer arrives: the rest of the body was drained
// instead of the connection being reset.
func TestRefusalBeforeTheFile(t *testing.T) {
	e := newTestEnv(t, true)
	good := dist{name: "foo", version: "1.0"}
	e.mustUpload(t.Context(), good)
	srv := e.serve()
	const size = 48 << 20 // more than loopback TCP buffers hold (tcp_rmem max 32 MiB + tcp_wmem max 4 MiB), less than reqbody.MaxDrain
	form := map[string]string{":action": "file_upload", "protocol_version": "1", "name": "foo", "version": "9.0"}
	tests := []struct {
		name     string
		token    string
		filename string
		fields   map[string]string
		status   int
		message  string
	}{
		{"bad credentials", "wrong", "foo-9.0.tar.gz", form, 401, "401"},
		{"no permission", fooReader, "foo-9.0.tar.gz", form, 403, "403"},
		{"file exists", adminToken, good.sdistName(), form, 400, "File already exists"},
		{"bad file name", adminToken, "foo-9.0.exe", form, 400, "neither a wheel"},
	}
	clients := []struct {
		name string
		send func(t *testing.T, req *http.Request) (*http.Response, error)
	}{
		{"twine-like", func(t *testing.T, req *http.Request) (*http.Response, error) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			if err := req.Write(conn); err != nil {
				return nil, fmt.Errorf("sending the body: %w", err)
			}
			return http.ReadResponse(bufio.NewReader(conn), req)
		}},
		{"net/http client", func(_ *testing.T, req *http.Request) (*http.Response, error) {
			return srv.Client().Do(req)
		}},
	}
	for _, c := range clients {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				body, n, ct := bigUpload(t, tt.filename, size, tt.fields)
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/", body)
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = n
				req.Header.Set("Content-Type", ct)
				req.SetBasicAuth("__token__", tt.token)
				resp, err := c.send(t, req)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				defer resp.Body.Close()
				msg, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tt.status || !strings.Contains(string(msg), tt.message) {
					t.Fatalf("got %s %q, want %d with %q", resp.Status, msg, tt.status, tt.message)
				}
				if resp.Close {
					t.Errorf("a drained refusal closes the connection")
				}
			})
		}
	}
	if keys := e.uploadKeys(t.Context()); len(keys) != 0 {
		t.Fatalf("temporary uploads left: %v", keys)
	}
}

// TestRefusalOfHugeBody: a refused body whose rest is larger than reqbody.MaxDrain
// is not read; the answer says Connection: close.
func TestRefusalOfHugeBody(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	form := map[string]string{":action": "file_upload", "protocol_version": "1", "name": "foo", "version": "9.0"}
	tests := []struct {
		name   string
		length int64 // declared; -1 for chunked
		size   int64 // sent
		close  bool
		// how much is read beyond the size of the form without its file
		minRead, maxRead int64
	}{
		{"declared huge", 4 << 30, 4 << 30, true, 0, 0},
		{"chunked huge", -1, reqbody.MaxDrain + (1 << 20), true, reqbody.MaxDrain - (64 << 10), reqbody.MaxDrain + (64 << 10)},
		{"chunked small", -1, 1 << 20, false, 1 << 20, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, total, ct := bigUpload(t, "foo-9.0.tar.gz", tt.size, form)
			head := total - tt.size
			counted := &counting.Reader{R: body}
			resp := e.handle(ctx, &core.RequestContext{Method: http.MethodPost, Path: "/", Actor: &core.Actor{},
				Header: http.Header{"Content-Type": {ct}, "Authorization": {basicAuth("__token__", fooReader)}},
				Body:   counted, ContentLength: tt.length, BaseURL: testBaseURL})
			resp.Body.Close()
			if resp.Status != 403 && resp.Status != 413 {
				t.Fatalf("status %d", resp.Status)
			}
			if got := resp.Header.Get("Connection") == "close"; got != tt.close {
				t.Errorf("Connection: close = %v, want %v", got, tt.close)
			}
			if read := max(counted.N-head, 0); read < tt.minRead || read > tt.maxRead {
				t.Errorf("read %d bytes of the body beyond the form, want %d to %d", read, tt.minRead, tt.maxRead)
			}
		})
	}
}

// TestWriteRefusedBeforeTheBody sends uploads whose bodies are not even
// forms with tokens that can write nothing in PyPI: the answer is the
// refusal (403), not a complaint about the body, so no byte of it was
// parsed or stored.
func TestWriteRefusedBeforeTheBody(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	for _, token := range []string{adminRO} {
		r := e.do(ctx, request{method: http.MethodPost, path: "/", token: token,
			header: map[string]string{"Content-Type": "text/plain"}, body: []byte("not a form")})
		if r.status != http.StatusForbidden {
			t.Errorf("token %s: %d %s, want 403", token, r.status, r.body)
		}
	}
	if keys := e.keys(ctx); len(keys) != 0 {
		t.Errorf("stored: %v", keys)
	}
}
