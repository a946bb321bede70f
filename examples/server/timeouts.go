package main

import (
	"io"
	"net/http"
	"time"
)

// timeouts bound how long a client may hold a connection without making
// progress. A registry receives multi-gigabyte uploads over slow links, so
// a request as a whole gets hours (ReadTimeout), while a body that stops
// arriving is cut off after BodyIdle: each read that brings data pushes the
// read deadline BodyIdle further, up to the request's ReadTimeout.
type timeouts struct {
	// ReadHeader is how long a client has to send the request line and
	// headers (slowloris): 10 seconds.
	ReadHeader time.Duration
	// Read caps one request, body included: 6 hours, enough for 10 GB at
	// 0.5 MB/s.
	Read time.Duration
	// BodyIdle is how long a request body may stall (no byte arriving)
	// before the read fails: 2 minutes.
	BodyIdle time.Duration
	// Idle is how long a keep-alive connection may wait for its next
	// request: 2 minutes.
	Idle time.Duration
}

// defaultTimeouts are the example server's.
var defaultTimeouts = timeouts{ReadHeader: 10 * time.Second, Read: 6 * time.Hour, BodyIdle: 2 * time.Minute, Idle: 2 * time.Minute}

// newHTTPServer is the server for h with the timeouts set.
func newHTTPServer(h http.Handler, t timeouts) *http.Server {
	return &http.Server{
		Handler:           bodyProgressDeadline(h, t),
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		IdleTimeout:       t.Idle,
	}
}

// bodyProgressDeadline gives each request a read deadline BodyIdle ahead,
// pushed forward while the body arrives, never past the start plus Read.
func bodyProgressDeadline(h http.Handler, t timeouts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		p := &progressBody{ReadCloser: r.Body, rc: rc, idle: t.BodyIdle, limit: time.Now().Add(t.Read)}
		if p.extend(time.Now()) == nil {
			r.Body = p
		}
		h.ServeHTTP(w, r)
	})
}

// progressBody pushes the connection's read deadline forward each time a
// read brings data; at most once a second (or a quarter of idle when that
// is shorter), as setting it has a cost.
type progressBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	idle     time.Duration
	limit    time.Time // the request's hard deadline
	extended time.Time // when the deadline was last set
}

func (p *progressBody) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	if now := time.Now(); n > 0 && now.Sub(p.extended) >= min(time.Second, p.idle/4) {
		_ = p.extend(now) // unsupported only where it was refused at the start
	}
	return n, err
}

func (p *progressBody) extend(now time.Time) error {
	p.extended = now
	deadline := now.Add(p.idle)
	if deadline.After(p.limit) {
		deadline = p.limit
	}
	return p.rc.SetReadDeadline(deadline)
}
