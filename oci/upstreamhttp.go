package oci

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The HTTP side of proxying: what an OCI upstream needs beyond plain
// requests with credentials, done by the transport of the upstream client
// (package upstream stays protocol-neutral): Docker Hub's "library/" names,
// and the Bearer token challenge of the distribution token flow.

// dockerHubHosts are the hosts of Docker Hub's registry API. docker.io
// itself serves no registry API: its requests go to registry-1.docker.io.
var dockerHubHosts = map[string]string{
	"registry-1.docker.io": "registry-1.docker.io",
	"index.docker.io":      "index.docker.io",
	"docker.io":            "registry-1.docker.io",
}

// upstreamRepository returns the repository name to ask an upstream at
// host for name: Docker Hub keeps its official images below "library/",
// where clients ask for a one-segment name ("alpine" is
// "library/alpine"); every other registry gets name as it is.
func upstreamRepository(host, name string) string {
	if _, hub := dockerHubHosts[strings.ToLower(host)]; hub && name != "" && !strings.Contains(name, "/") {
		return "library/" + name
	}
	return name
}

// splitAPIPath splits a distribution API path "<base>/v2/<name>/<rest>"
// into the part up to "/v2/", the repository name, and the rest
// ("manifests/<ref>", "blobs/<digest>", "tags/list", "referrers/<digest>");
// names may contain slashes, so the last of these endpoints in the path
// ends the name.
func splitAPIPath(path string) (base, name, rest string, ok bool) {
	i := strings.Index(path, "/v2/")
	if i < 0 {
		return "", "", "", false
	}
	base, p := path[:i+4], path[i+4:]
	cut := -1
	for _, marker := range []string{"/manifests/", "/blobs/", "/tags/list", "/referrers/"} {
		if j := strings.LastIndex(p, marker); j > cut {
			cut = j
		}
	}
	if cut <= 0 {
		return "", "", "", false
	}
	return base, p[:cut], p[cut+1:], true
}

// upstreamURL returns where a request for u really goes: Docker Hub's
// registry host, and its "library/" names.
func upstreamURL(u *url.URL) *url.URL {
	host, hub := dockerHubHosts[strings.ToLower(u.Hostname())]
	if !hub {
		return u
	}
	out := *u
	if out.Port() == "" {
		out.Host = host
	}
	if base, name, rest, ok := splitAPIPath(u.Path); ok {
		if repo := upstreamRepository(host, name); repo != name {
			out.Path = base + repo + "/" + rest
			out.RawPath = ""
		}
	}
	return &out
}

// challenge is a WWW-Authenticate challenge: its scheme and parameters.
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenge parses one WWW-Authenticate challenge such as
// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`
// (RFC 9110 auth-params: token=token or token="quoted string").
func parseChallenge(h string) (challenge, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if scheme == "" {
		return challenge{}, false
	}
	c := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return challenge{}, false
		}
		key = strings.ToLower(strings.TrimSpace(key))
		after = strings.TrimLeft(after, " \t")
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			if i >= len(after) {
				return challenge{}, false
			}
			val, after = b.String(), after[i+1:]
		} else {
			end := strings.IndexByte(after, ',')
			if end < 0 {
				end = len(after)
			}
			val, after = strings.TrimSpace(after[:end]), after[end:]
		}
		c.params[key] = val
		after = strings.TrimLeft(after, " \t")
		if after != "" && after[0] != ',' {
			return challenge{}, false
		}
		rest = strings.TrimLeft(strings.TrimPrefix(after, ","), " \t")
	}
	return c, true
}

// tokenKey names a cached token: an upstream (origin and the credentials
// it is asked with) and a scope.
type tokenKey struct {
	origin, credentials, scope string
}

// cachedToken is a token of the token flow and when to stop using it.
type cachedToken struct {
	token   string
	expires time.Time
}

// registryTransport is the transport of the upstream client. It sends
// Docker Hub's requests to its registry host and "library/" names, and
// speaks to a registry the way docker and containerd do: a request goes
// without credentials (or with the token cached for its repository), and
// a 401 is answered as its WWW-Authenticate asks — a Bearer challenge
// (`Bearer realm=…,service=…,scope=…`, the distribution token flow) with
// a token asked of the realm with the upstream's credentials (its HTTP
// Basic, or its static token as a Bearer, which package upstream set on
// the request), or anonymously without any; a Basic challenge with the
// credentials themselves. The request is then sent once more. Tokens are
// cached per upstream and scope until they expire, and sent at once with
// the next requests for the same repository.
type registryTransport struct {
	base http.RoundTripper
	now  func() time.Time

	mu     sync.Mutex
	tokens map[tokenKey]cachedToken
	// scopes remembers, per upstream and repository, the scope its last
	// challenge named.
	scopes map[tokenKey]string
	// basic holds the upstreams (origin and credentials) that asked for
	// HTTP Basic: they get it at once from then on.
	basic map[tokenKey]bool
}

func newRegistryTransport(base http.RoundTripper) *registryTransport {
	return &registryTransport{base: base, now: time.Now, tokens: map[tokenKey]cachedToken{}, scopes: map[tokenKey]string{},
		basic: map[tokenKey]bool{}}
}

// RoundTrip sends req, answering one challenge.
func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL = upstreamURL(req.URL)
	req.Host = ""
	creds := req.Header.Get("Authorization")
	req.Header.Del("Authorization")
	origin := req.URL.Scheme + "://" + req.URL.Host
	_, repo, _, _ := splitAPIPath(req.URL.Path)
	repoKey := tokenKey{origin: origin, credentials: creds, scope: repo}
	basicKey := tokenKey{origin: origin, credentials: creds}
	sent := req
	if tok, ok := t.cached(repoKey); ok {
		sent = withAuthorization(req, "Bearer "+tok)
	} else if t.wantsBasic(basicKey) {
		return t.base.RoundTrip(withAuthorization(req, creds))
	}
	resp, err := t.base.RoundTrip(sent)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.Body != http.NoBody) {
		return resp, err
	}
	c, ok := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	switch {
	case !ok:
		return resp, nil
	case c.scheme == "basic" && strings.HasPrefix(creds, "Basic "):
		drainBody(resp.Body)
		t.mu.Lock()
		if len(t.basic) >= maxCachedTokens {
			clear(t.basic)
		}
		t.basic[basicKey] = true
		t.mu.Unlock()
		return t.base.RoundTrip(withAuthorization(req, creds))
	case c.scheme != "bearer" || c.params["realm"] == "":
		return resp, nil
	}
	key := tokenKey{origin: origin, credentials: creds, scope: c.params["scope"]}
	// A token sent from the cache and refused is asked for again.
	tok, err := t.fetchToken(req, c, key, sent != req)
	if err != nil {
		return resp, nil //nolint:nilerr // the 401 stands: the upstream refuses
	}
	drainBody(resp.Body)
	t.mu.Lock()
	if len(t.scopes) >= maxCachedTokens {
		clear(t.scopes)
	}
	t.scopes[repoKey] = key.scope
	t.mu.Unlock()
	return t.base.RoundTrip(withAuthorization(req, "Bearer "+tok))
}

// wantsBasic reports whether the upstream of key asked for HTTP Basic.
func (t *registryTransport) wantsBasic(key tokenKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.basic[key]
}

// cached returns the unexpired token last used for a repository.
func (t *registryTransport) cached(repoKey tokenKey) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	scope, ok := t.scopes[repoKey]
	if !ok {
		return "", false
	}
	ct, ok := t.tokens[tokenKey{origin: repoKey.origin, credentials: repoKey.credentials, scope: scope}]
	if !ok || !t.now().Before(ct.expires) {
		return "", false
	}
	return ct.token, true
}

// withAuthorization returns a copy of req with an Authorization header.
func withAuthorization(req *http.Request, auth string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", auth)
	return r
}

// tokenAnswer is a token endpoint's answer (Docker's token spec; OAuth2
// names the token access_token).
type tokenAnswer struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// maxCachedTokens bounds the tokens (and the repositories' scopes) kept.
const maxCachedTokens = 4096

// maxTokenAnswer bounds a token endpoint's answer.
const maxTokenAnswer = 1 << 20

// fetchToken returns the token for key: cached unless refresh, else asked
// of the challenge's realm with the credentials of req.
func (t *registryTransport) fetchToken(req *http.Request, c challenge, key tokenKey, refresh bool) (string, error) {
	if !refresh {
		t.mu.Lock()
		ct, ok := t.tokens[key]
		t.mu.Unlock()
		if ok && t.now().Before(ct.expires) {
			return ct.token, nil
		}
	}
	realm, err := url.Parse(c.params["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") {
		return "", fmt.Errorf("token realm %q is not an http(s) URL", c.params["realm"])
	}
	q := realm.Query()
	if s := c.params["service"]; s != "" {
		q.Set("service", s)
	}
	if key.scope != "" {
		q.Set("scope", key.scope)
	}
	realm.RawQuery = q.Encode()
	treq, err := http.NewRequestWithContext(req.Context(), http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	if key.credentials != "" {
		treq.Header.Set("Authorization", key.credentials)
	}
	resp, err := t.base.RoundTrip(treq)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token realm %s: %s", realm.Host, resp.Status)
	}
	var a tokenAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTokenAnswer)).Decode(&a); err != nil {
		return "", fmt.Errorf("token realm %s: %w", realm.Host, err)
	}
	tok := a.Token
	if tok == "" {
		tok = a.AccessToken
	}
	if tok == "" {
		return "", fmt.Errorf("token realm %s: no token", realm.Host)
	}
	t.mu.Lock()
	if len(t.tokens) >= maxCachedTokens {
		now := t.now()
		maps.DeleteFunc(t.tokens, func(_ tokenKey, ct cachedToken) bool { return !now.Before(ct.expires) })
		if len(t.tokens) >= maxCachedTokens {
			clear(t.tokens)
		}
	}
	t.tokens[key] = cachedToken{token: tok, expires: t.now().Add(tokenLifetime(a.ExpiresIn))}
	t.mu.Unlock()
	return tok, nil
}

// tokenLifetime is how long a token said to expire in expiresIn seconds is
// used: 60 seconds when it does not say (the token spec's default), less a
// margin for the time its requests take.
func tokenLifetime(expiresIn int) time.Duration {
	d := time.Duration(expiresIn) * time.Second
	if expiresIn <= 0 {
		d = 60 * time.Second
	}
	return d - min(d/10, 10*time.Second)
}

// drainBody reads a little of an unused body, so the connection can be
// reused, and closes it.
func drainBody(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}
