package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDefaultTimeouts: the example server sets every timeout, and allows a
// multi-gigabyte upload on a slow link.
func TestDefaultTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), defaultTimeouts)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || defaultTimeouts.BodyIdle <= 0 {
		t.Fatalf("a timeout is unset: %+v", srv)
	}
	const slowLink, upload = 512 << 10, 10 << 30 // 0.5 MB/s, 10 GB
	if need := time.Duration(upload/slowLink) * time.Second; srv.ReadTimeout < need {
		t.Errorf("ReadTimeout %v is shorter than a 10 GB upload at 0.5 MB/s (%v)", srv.ReadTimeout, need)
	}
}

// TestTimeouts runs a server with short timeouts and clients that are
// slow in each way: slow headers and a stalled body are cut off, a slow
// but steady body is read to its end unless it outlasts the request's
// cap, and an idle keep-alive connection is closed.
func TestTimeouts(t *testing.T) {
	to := timeouts{ReadHeader: 300 * time.Millisecond, Read: 2 * time.Second, BodyIdle: 400 * time.Millisecond, Idle: 300 * time.Millisecond}
	results := make(chan string, 1)
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		results <- fmt.Sprintf("%d %v", n, err)
		fmt.Fprintf(w, "%d", n)
	}), to)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// send writes the request head and then the body in chunks, pausing
	// between them.
	send := func(t *testing.T, chunks int, pause time.Duration) net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 10*chunks)
		go func() {
			for range chunks {
				time.Sleep(pause)
				if _, err := c.Write([]byte("0123456789")); err != nil {
					return
				}
			}
		}()
		return c
	}
	result := func(t *testing.T) string {
		select {
		case r := <-results:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("the handler never finished")
			return ""
		}
	}
	t.Run("steady body longer than BodyIdle", func(t *testing.T) {
		send(t, 12, 100*time.Millisecond) // 1.2 s in all, a chunk every 0.1 s
		if got := result(t); got != "120 <nil>" {
			t.Errorf("handler read %s", got)
		}
	})
	t.Run("stalled body", func(t *testing.T) {
		start := time.Now()
		send(t, 2, time.Second) // the first chunk after 1 s > BodyIdle
		if got := result(t); !strings.Contains(got, "timeout") {
			t.Errorf("handler read %s, want a timeout", got)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("cut off after %v", d)
		}
	})
	t.Run("steady body beyond the request cap", func(t *testing.T) {
		send(t, 30, 100*time.Millisecond) // 3 s > Read
		if got := result(t); !strings.Contains(got, "timeout") {
			t.Errorf("handler read %s, want a timeout", got)
		}
	})
	t.Run("slow headers", func(t *testing.T) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("connection not closed by the server: %v", err)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := send(t, 1, 0)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		result(t)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadAll(br); err != nil {
			t.Errorf("idle connection not closed by the server: %v", err)
		}
	})
}
