package smartregistry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// ServeHTTP makes Registry an http.Handler. The request body is streamed to
// the handler and the response body streamed to the client, and one line
// per request is logged (unless Config.DisableRequestLog).
//
// Mount it beside your own routes either way:
//
//   - with base paths that include your prefix (NPM.BasePath "/registry/npm")
//     and mux.Handle("/registry/", reg);
//   - or behind http.StripPrefix("/registry", reg) with the default base
//     paths: the registry sees the path without the prefix, and takes the
//     prefix from the original request (r.RequestURI) for the URLs it
//     generates (tarball and download links, the OCI token realm). Base
//     paths that include the prefix work behind StripPrefix too.
//
// OCI clients always connect to /v2/ at the host root, so also route /v2/
// to the registry, unprefixed (mux.Handle("/v2/", reg)). Requests there do
// not show a prefix, so behind StripPrefix set OCI.RegistryURL to the
// public URL of OCI's base path (prefix included) for the token realm.
func (r *Registry) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	start := time.Now()
	path, prefix := requestPath(hr)
	if m, _ := r.route(path); m == nil && prefix != "" {
		if m, _ := r.route(prefix + path); m != nil {
			// Base paths that include the prefix StripPrefix removed.
			path, prefix = prefix+path, ""
		}
	}
	req := &core.RequestContext{
		Method:        hr.Method,
		Path:          path,
		Header:        hr.Header,
		Query:         hr.URL.Query(),
		Body:          hr.Body,
		ContentLength: hr.ContentLength,
		Actor:         &core.Actor{IP: clientIP(hr), UserAgent: hr.UserAgent()},
	}
	var proto core.Protocol
	if m, _ := r.route(path); m != nil {
		proto = m.handler.Protocol()
		if m.cfg.RegistryURL == "" && hr.Host != "" {
			req.BaseURL = requestBaseURL(hr, prefix, m)
		}
	}
	resp := r.HandleRequest(hr.Context(), req)
	n, err := writeResponse(w, hr, resp)
	if r.cfg.DisableRequestLog {
		return
	}
	level := slog.LevelInfo
	if err != nil && !errors.Is(err, context.Canceled) {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("method", hr.Method), slog.String("path", prefix+path), slog.String("protocol", string(proto)),
		slog.Int("status", resp.Status), slog.Int64("bytes", n), slog.Duration("duration", time.Since(start)),
		slog.String("user", req.Actor.UserID), slog.String("ip", req.Actor.IP),
	}
	if req.Actor.OrgID != "" {
		attrs = append(attrs, slog.String("org", req.Actor.OrgID))
	}
	if err != nil {
		attrs = append(attrs, slog.Any("writeError", err))
	}
	r.log.LogAttrs(hr.Context(), level, "request", attrs...)
}

// requestPath returns the escaped path to route, and the prefix that
// http.StripPrefix (or another wrapper) removed from the front of the path
// the client sent, "" when none. A path left without its leading "/" (by
// StripPrefix("/registry/", ...)) gets it back.
func requestPath(hr *http.Request) (path, prefix string) {
	path = hr.URL.EscapedPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	orig := hr.RequestURI
	if orig == "" || orig == "*" {
		return path, ""
	}
	if !strings.HasPrefix(orig, "/") { // absolute form: GET http://host/path
		u, err := url.Parse(orig)
		if err != nil {
			return path, ""
		}
		orig = u.EscapedPath()
	} else if i := strings.IndexByte(orig, '?'); i >= 0 {
		orig = orig[:i]
	}
	if orig == path || !strings.HasSuffix(orig, path) {
		return path, ""
	}
	return path, orig[:len(orig)-len(path)]
}

func writeResponse(w http.ResponseWriter, hr *http.Request, resp *core.Response) (int64, error) {
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if resp.Body == nil || hr.Method == http.MethodHead {
		return 0, nil
	}
	return io.Copy(w, resp.Body)
}

// requestBaseURL derives a protocol's public URL from the request, for when
// no RegistryURL is configured: scheme, Host, the prefix a wrapper stripped
// and the base path. It is the URL of the base path also for OCI requests
// that arrived at /v2, so the token realm stays under it.
func requestBaseURL(hr *http.Request, prefix string, m *mount) string {
	scheme := "http"
	if hr.TLS != nil {
		scheme = "https"
	}
	if p := hr.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + hr.Host + prefix + strings.TrimSuffix(m.base, "/")
}

func clientIP(hr *http.Request) string {
	host, _, err := net.SplitHostPort(hr.RemoteAddr)
	if err != nil {
		return hr.RemoteAddr
	}
	return host
}
