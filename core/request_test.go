package core_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/smartregistry/smartregistry/core"
)

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name, method, target string
		body                 io.Reader
		wantMethod, wantPath string
		wantQuery            url.Values
		wantLength           int64
	}{
		{"path", "GET", "/npm/left-pad", nil, "GET", "/npm/left-pad", url.Values{}, 0},
		{"query split off", "GET", "/npm/-/v1/search?text=pad&size=2", nil, "GET", "/npm/-/v1/search",
			url.Values{"text": {"pad"}, "size": {"2"}}, 0},
		{"escapes kept", "GET", "/npm/@team%2fapp?write=true", nil, "GET", "/npm/@team%2fapp", url.Values{"write": {"true"}}, 0},
		{"absolute URL", "PUT", "https://registry.example.com/pypi/x?format=json", strings.NewReader("abc"), "PUT", "/pypi/x",
			url.Values{"format": {"json"}}, 3},
		{"empty method and path", "", "?q=1", bytes.NewReader([]byte("12345")), "GET", "/", url.Values{"q": {"1"}}, 5},
		{"buffer body", "POST", "/x", bytes.NewBufferString("hi"), "POST", "/x", url.Values{}, 2},
		{"unknown length", "POST", "/x", iotest.OneByteReader(strings.NewReader("hi")), "POST", "/x", url.Values{}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := core.NewRequest(tt.method, tt.target, tt.body)
			if req.Method != tt.wantMethod || req.Path != tt.wantPath || req.ContentLength != tt.wantLength {
				t.Errorf("got %s %s length %d", req.Method, req.Path, req.ContentLength)
			}
			if req.Query.Encode() != tt.wantQuery.Encode() {
				t.Errorf("query %v, want %v", req.Query, tt.wantQuery)
			}
			if req.Header == nil || req.Body == nil || req.Actor == nil {
				t.Errorf("unset fields: %+v", req)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("an invalid target did not panic")
		}
	}()
	core.NewRequest(http.MethodGet, "http://[::1", nil)
}
