package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestGracefulShutdown starts an upload, cancels the server's context (what
// SIGTERM does) while the body is still arriving, and expects the upload to
// complete and the server to return cleanly.
func TestGracefulShutdown(t *testing.T) {
	env := map[string]string{
		"SMARTREGISTRY_ADDR":           "127.0.0.1:0",
		"SMARTREGISTRY_DATA":           t.TempDir(),
		"SMARTREGISTRY_ADMIN_PASSWORD": "secret-pw",
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, slog.New(slog.DiscardHandler), nil, func(k string) string { return env[k] }, outW)
		outW.Close()
	}()
	base := ""
	sc := bufio.NewScanner(outR)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "smartregistry listening on "); ok {
			base = rest
			break
		}
	}
	go io.Copy(io.Discard, outR)
	if base == "" {
		t.Fatalf("server did not start: %v", <-done)
	}

	blob := bytes.Repeat([]byte("layer"), 1<<18)
	sum := sha256.Sum256(blob)
	bodyR, bodyW := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, base+"/v2/shutdown/app/blobs/uploads/?digest=sha256:"+hex.EncodeToString(sum[:]), bodyR)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(blob))
	req.SetBasicAuth("admin", "secret-pw")
	respc := make(chan *http.Response, 1)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errc <- err
			return
		}
		respc <- resp
	}()
	half := len(blob) / 2
	if _, err := bodyW.Write(blob[:half]); err != nil {
		t.Fatal(err)
	}
	cancel() // the request is in flight: shutdown must wait for it
	if _, err := bodyW.Write(blob[half:]); err != nil {
		t.Fatal(err)
	}
	bodyW.Close()
	select {
	case err := <-errc:
		t.Fatalf("request failed during shutdown: %v", err)
	case resp := <-respc:
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload during shutdown = %d, want 201", resp.StatusCode)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("run returned %v", err)
	}
}
