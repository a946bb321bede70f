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
	"os"
	"strconv"
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

	// Before cancelling, write more than the kernel's socket buffers can
	// hold between client and server: then the server has accepted the
	// connection and is reading the body, and shutdown must wait for it.
	inFlight := socketBufferBound() + 8<<20
	blob := bytes.Repeat([]byte("layer-by"), (inFlight+8<<20)/8)
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
	if _, err := bodyW.Write(blob[:inFlight]); err != nil {
		t.Fatal(err)
	}
	cancel() // the request is in flight: shutdown must wait for it
	if _, err := bodyW.Write(blob[inFlight:]); err != nil {
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

// socketBufferBound is the most a loopback TCP connection can buffer
// between a writer and a reader that does not read: the largest send
// buffer plus the largest receive buffer, from the kernel's settings
// (64 MiB when they cannot be read).
func socketBufferBound() int {
	total := 0
	for _, f := range []string{"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem"} {
		b, err := os.ReadFile(f)
		fields := strings.Fields(string(b))
		if err != nil || len(fields) != 3 {
			return 64 << 20
		}
		n, err := strconv.Atoi(fields[2])
		if err != nil {
			return 64 << 20
		}
		total += n
	}
	return total
}
