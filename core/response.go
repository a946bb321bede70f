package core

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// NewResponse returns a response with the given status and an empty header.
func NewResponse(status int) *Response {
	return &Response{Status: status, Header: make(http.Header)}
}

// BytesResponse returns a response whose body is b, with Content-Type and
// Content-Length set.
func BytesResponse(status int, contentType string, b []byte) *Response {
	r := NewResponse(status)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.Body = io.NopCloser(bytes.NewReader(b))
	return r
}

// JSONResponse marshals v and returns it as an application/json response.
// A value that cannot be marshalled is a programming error and yields a 500
// with an empty JSON object.
func JSONResponse(status int, v any) *Response {
	b, err := json.Marshal(v)
	if err != nil {
		return BytesResponse(http.StatusInternalServerError, "application/json", []byte("{}"))
	}
	return BytesResponse(status, "application/json", b)
}

// StreamResponse returns a response streaming body; size is set as
// Content-Length when it is not negative.
func StreamResponse(status int, contentType string, body io.ReadCloser, size int64) *Response {
	r := NewResponse(status)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if size >= 0 {
		r.Header.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	r.Body = body
	return r
}
