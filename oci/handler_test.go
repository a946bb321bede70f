package oci

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

func TestBase(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	challenge := fmt.Sprintf(`Bearer realm="%s/oci/token",service="smartregistry"`, ts.URL)
	runSteps(t, ts, []step{
		{name: "anonymous", method: "GET", url: "/v2/", status: 401, code: "UNAUTHORIZED",
			wantHeader: map[string]string{"WWW-Authenticate": challenge, "Docker-Distribution-API-Version": "registry/2.0"}},
		{name: "no slash", method: "GET", url: "/v2", status: 401},
		{name: "under base path", method: "GET", url: "/oci/v2/", status: 401},
		{name: "basic", method: "GET", url: "/v2/", header: admin(), status: 200,
			wantHeader: map[string]string{"Docker-Distribution-API-Version": "registry/2.0"}},
		{name: "wrong password", method: "GET", url: "/v2/", header: basic(adminUser, "nope"), status: 401,
			wantHeader: map[string]string{"WWW-Authenticate": challenge}},
		{name: "HEAD", method: "HEAD", url: "/v2/", header: admin(), status: 200},
		{name: "unknown path", method: "GET", url: "/v2/foo/bar", header: admin(), status: 404},
		{name: "wrong method", method: "POST", url: "/v2/foo/tags/list", header: admin(), status: 405, code: "UNSUPPORTED"},
	})
}

func TestToken(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	var tok tokenResponse
	decode := func(t *testing.T, _ *http.Response, body []byte) {
		tok = tokenResponse{}
		if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" || tok.Token != tok.AccessToken || tok.ExpiresIn <= 0 || tok.IssuedAt == "" {
			t.Errorf("token response %s", body)
		}
	}
	pushBlob(t, ts, "team-a/app", []byte("layer a"))
	pushBlob(t, ts, "team-b/secret", []byte("layer b"))
	blobA, blobB := sha256Digest([]byte("layer a")), sha256Digest([]byte("layer b"))

	steps := []step{
		{name: "pull challenge", method: "GET", url: "/v2/team-a/app/blobs/" + blobA, status: 401,
			wantHeader: map[string]string{"WWW-Authenticate": fmt.Sprintf(
				`Bearer realm="%s/oci/token",service="smartregistry",scope="repository:team-a/app:pull"`, ts.URL)}},
		{name: "admin token", method: "GET", url: "/oci/token?service=smartregistry&scope=repository:team-a/app:pull,push",
			header: admin(), status: 200, check: decode},
	}
	runSteps(t, ts, steps)
	runSteps(t, ts, []step{
		{name: "pull with token", method: "GET", url: "/v2/team-a/app/blobs/" + blobA, header: bearer(tok.Token), status: 200},
		{name: "token lacks scope", method: "GET", url: "/v2/team-b/secret/blobs/" + blobB, header: bearer(tok.Token), status: 401,
			wantHeader: map[string]string{"WWW-Authenticate": "?"}},
		{name: "alice token", method: "GET", url: "/oci/token?scope=repository:team-a/app:pull,push&scope=repository:team-b/secret:pull",
			header: basic(aliceUser, alicePass), status: 200, check: decode},
	})
	// The token records what alice asked for next to what she got.
	alice, err := ts.h.Load().deps.Auth.ParseBearer(tok.Token, DefaultService)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []core.Scope{ociScope("team-a/app", core.ActionWrite), ociScope("team-b/secret", core.ActionRead)} {
		if !alice.AskedFor(s) || core.AnyAllows(alice.Scopes, s) {
			t.Errorf("alice's token: asked for %s %v, granted %v; want asked and refused", s, alice.AskedFor(s), alice.Scopes)
		}
	}
	runSteps(t, ts, []step{
		{name: "alice pulls", method: "GET", url: "/v2/team-a/app/blobs/" + blobA, header: bearer(tok.Token), status: 200},
		{name: "alice may not push (refused by the token endpoint)", method: "POST", url: "/v2/team-a/app/blobs/uploads/",
			header: bearer(tok.Token), status: 403, code: "DENIED"},
		{name: "alice's token never asked for delete", method: "DELETE", url: "/v2/team-a/app/blobs/" + blobA, header: bearer(tok.Token),
			status: 401, wantHeader: map[string]string{"WWW-Authenticate": "?"}},
		{name: "alice may not pull team-b", method: "GET", url: "/v2/team-b/secret/blobs/" + blobB, header: bearer(tok.Token), status: 403, code: "DENIED"},
		{name: "anonymous token", method: "GET", url: "/oci/token?scope=repository:team-a/app:pull", status: 200, check: decode},
	})
	runSteps(t, ts, []step{
		{name: "anonymous token grants nothing", method: "GET", url: "/v2/team-a/app/blobs/" + blobA, header: bearer(tok.Token), status: 401},
		{name: "bad password", method: "GET", url: "/oci/token?scope=repository:team-a/app:pull", header: basic(aliceUser, "x"), status: 401},
		{name: "wrong service", method: "GET", url: "/oci/token?service=other", header: admin(), status: 400},
		{name: "oauth2 password grant", method: "POST", url: "/oci/token",
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			body:   []byte("grant_type=password&username=admin&password=secret&scope=repository:team-b/secret:pull&service=smartregistry"),
			status: 200, check: decode},
	})
	runSteps(t, ts, []step{
		{name: "oauth2 token pulls", method: "GET", url: "/v2/team-b/secret/blobs/" + blobB, header: bearer(tok.Token), status: 200},
	})
}

// TestMountWithTokens follows the token flow of a cross-repository mount:
// a token without the source scope is challenged for it; a token whose
// request for the source was refused falls back to a normal upload.
func TestMountWithTokens(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	d := pushBlob(t, ts, "team-a/base", []byte("shared layer"))
	secret := pushBlob(t, ts, "team-b/secret", []byte("secret layer"))
	bob := basic(bobUser, bobPass)
	tok := fetchToken(t, ts, "scope=repository:team-a/app:pull,push", bob)
	runSteps(t, ts, []step{{name: "mount needs the source scope", method: "POST",
		url: "/v2/team-a/app/blobs/uploads/?mount=" + d + "&from=team-a/base", header: bearer(tok), status: 401,
		wantHeader: map[string]string{"WWW-Authenticate": fmt.Sprintf(`Bearer realm="%s/oci/token",service="smartregistry",`+
			`scope="repository:team-a/app:pull,push repository:team-a/base:pull",error="insufficient_scope"`, ts.URL)}}})
	tok = fetchToken(t, ts, "scope="+url.QueryEscape("repository:team-a/app:pull,push repository:team-a/base:pull")+
		"&scope=repository:team-b/secret:pull", bob)
	runSteps(t, ts, []step{
		{name: "mount", method: "POST", url: "/v2/team-a/app/blobs/uploads/?mount=" + d + "&from=team-a/base", header: bearer(tok), status: 201},
		{name: "refused source falls back", method: "POST", url: "/v2/team-a/app/blobs/uploads/?mount=" + secret + "&from=team-b/secret",
			header: bearer(tok), status: 202},
		{name: "secret not mounted", method: "HEAD", url: "/v2/team-a/app/blobs/" + secret, header: bearer(tok), status: 404},
	})
}

func TestBlobs(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	data := []byte("0123456789abcdef")
	d := pushBlob(t, ts, "app", data)
	runSteps(t, ts, []step{
		{name: "GET", method: "GET", url: "/v2/app/blobs/" + d, header: admin(), status: 200, wantBody: data,
			wantHeader: map[string]string{"Docker-Content-Digest": d, "Content-Length": "16", "Content-Type": "application/octet-stream"}},
		{name: "HEAD", method: "HEAD", url: "/v2/app/blobs/" + d, header: admin(), status: 200,
			wantHeader: map[string]string{"Docker-Content-Digest": d, "Content-Length": "16"}},
		{name: "range", method: "GET", url: "/v2/app/blobs/" + d, header: admin("Range", "bytes=2-5"), status: 206,
			wantBody: []byte("2345"), wantHeader: map[string]string{"Content-Range": "bytes 2-5/16", "Content-Length": "4"}},
		{name: "open range", method: "GET", url: "/v2/app/blobs/" + d, header: admin("Range", "bytes=10-"), status: 206,
			wantBody: []byte("abcdef"), wantHeader: map[string]string{"Content-Range": "bytes 10-15/16"}},
		{name: "suffix range", method: "GET", url: "/v2/app/blobs/" + d, header: admin("Range", "bytes=-3"), status: 206,
			wantBody: []byte("def")},
		{name: "range past end", method: "GET", url: "/v2/app/blobs/" + d, header: admin("Range", "bytes=16-20"), status: 416,
			wantHeader: map[string]string{"Content-Range": "bytes */16"}},
		{name: "malformed range", method: "GET", url: "/v2/app/blobs/" + d, header: admin("Range", "bytes=x"), status: 416,
			wantHeader: map[string]string{"Content-Range": "bytes */16"}},
		{name: "other repo", method: "GET", url: "/v2/other/blobs/" + d, header: admin(), status: 404, code: "BLOB_UNKNOWN"},
		{name: "unknown", method: "GET", url: "/v2/app/blobs/" + sha256Digest([]byte("x")), header: admin(), status: 404, code: "BLOB_UNKNOWN"},
		{name: "bad digest", method: "GET", url: "/v2/app/blobs/sha256:abc", header: admin(), status: 400, code: "DIGEST_INVALID"},
		{name: "DELETE", method: "DELETE", url: "/v2/app/blobs/" + d, header: admin(), status: 202},
		{name: "gone", method: "HEAD", url: "/v2/app/blobs/" + d, header: admin(), status: 404},
		{name: "DELETE again", method: "DELETE", url: "/v2/app/blobs/" + d, header: admin(), status: 404, code: "BLOB_UNKNOWN"},
	})
	off := newTestServer(t, nil, Config{DisableDelete: true})
	d = pushBlob(t, off, "app", data)
	runSteps(t, off, []step{
		{name: "delete disabled", method: "DELETE", url: "/v2/app/blobs/" + d, header: admin(), status: 405, code: "UNSUPPORTED"},
	})
}

func TestUploads(t *testing.T) { forEachBackend(t, testUploads) }

func testUploads(t *testing.T, backend core.Backend) {
	ts := newTestServer(t, backend, Config{})
	data := []byte("hello, chunked world")
	d := sha256Digest(data)
	sum512 := sha512.Sum512(data)
	d512 := "sha512:" + hex.EncodeToString(sum512[:])
	runSteps(t, ts, []step{
		{name: "monolithic", method: "POST", url: "/v2/app/blobs/uploads/?digest=" + d, header: admin(), body: data, status: 201,
			wantHeader: map[string]string{"Location": ts.URL + "/oci/v2/app/blobs/" + d, "Docker-Content-Digest": d}},
		{name: "monolithic bad digest", method: "POST", url: "/v2/app/blobs/uploads/?digest=" + sha256Digest([]byte("x")),
			header: admin(), body: data, status: 400, code: "DIGEST_INVALID"},
		{name: "monolithic sha512", method: "POST", url: "/v2/app/blobs/uploads/?digest=" + d512, header: admin(), body: data, status: 201},
		{name: "sha512 readable", method: "GET", url: "/v2/app/blobs/" + d512, header: admin(), status: 200, wantBody: data},

		{name: "chunked sha512: start", method: "POST", url: "/v2/a512/blobs/uploads/", header: admin(), status: 202},
		{name: "chunked sha512: patch", method: "PATCH", url: "{loc}", header: admin(), body: data[:7], status: 202},
		{name: "chunked sha512: wrong digest", method: "PUT", url: "{loc}?digest=sha512:" + strings.Repeat("0", 128), header: admin(),
			body: data[7:], status: 400, code: "DIGEST_INVALID"},
		{name: "chunked sha512: finish", method: "PUT", url: "{loc}?digest=" + d512, header: admin(), status: 201},
		{name: "chunked sha512: readable", method: "GET", url: "/v2/a512/blobs/" + d512, header: admin(), status: 200, wantBody: data},
		{name: "POST then PUT: start", method: "POST", url: "/v2/b/blobs/uploads/", header: admin(), status: 202,
			wantHeader: map[string]string{"Location": "?", "Range": "0-0", "Docker-Upload-UUID": "?"}},
		{name: "POST then PUT: put", method: "PUT", url: "{loc}?digest=" + d, header: admin(), body: data, status: 201,
			wantHeader: map[string]string{"Docker-Content-Digest": d}},

		{name: "chunked: start", method: "POST", url: "/v2/c/blobs/uploads", header: admin(), status: 202},
		{name: "chunked: first", method: "PATCH", url: "{loc}", header: admin("Content-Range", "0-4"), body: data[:5], status: 202,
			wantHeader: map[string]string{"Range": "0-4"}},
		{name: "chunked: out of order", method: "PATCH", url: "{loc}", header: admin("Content-Range", "9-11"), body: data[9:12], status: 416},
		{name: "chunked: bad length", method: "PATCH", url: "{loc}", header: admin("Content-Range", "5-11"), body: data[5:8], status: 400, code: "SIZE_INVALID"},
		{name: "chunked: status", method: "GET", url: "{loc}", header: admin(), status: 204, wantHeader: map[string]string{"Range": "0-4"}},
		{name: "chunked: no range", method: "PATCH", url: "{loc}", header: admin(), body: data[5:12], status: 202,
			wantHeader: map[string]string{"Range": "0-11"}},
		{name: "chunked: wrong digest", method: "PUT", url: "{loc}?digest=" + sha256Digest([]byte("x")), header: admin(), status: 400, code: "DIGEST_INVALID"},
		{name: "chunked: last chunk with PUT", method: "PUT", url: "{loc}?digest=" + d, header: admin("Content-Range", "12-19"), body: data[12:], status: 201},
		{name: "chunked: readable", method: "GET", url: "/v2/c/blobs/" + d, header: admin(), status: 200, wantBody: data},

		{name: "cancel: start", method: "POST", url: "/v2/d/blobs/uploads/", header: admin(), status: 202},
		{name: "cancel: patch", method: "PATCH", url: "{loc}", header: admin(), body: data, status: 202},
		{name: "cancel", method: "DELETE", url: "{loc}", header: admin(), status: 204},
		{name: "cancel: gone", method: "GET", url: "{loc}", header: admin(), status: 404, code: "BLOB_UPLOAD_UNKNOWN"},
		{name: "unknown upload", method: "PATCH", url: "/v2/d/blobs/uploads/not-a-uuid", header: admin(), body: data, status: 404, code: "BLOB_UPLOAD_UNKNOWN"},
		{name: "missing digest", method: "POST", url: "/v2/d/blobs/uploads/", header: admin(), status: 202},
		{name: "missing digest: put", method: "PUT", url: "{loc}", header: admin(), status: 400, code: "DIGEST_INVALID"},

		{name: "mount", method: "POST", url: "/v2/e/blobs/uploads/?mount=" + d + "&from=app", header: admin(), status: 201,
			wantHeader: map[string]string{"Location": ts.URL + "/oci/v2/e/blobs/" + d, "Docker-Content-Digest": d}},
		{name: "mounted", method: "GET", url: "/v2/e/blobs/" + d, header: admin(), status: 200, wantBody: data},
		{name: "mount: not in source", method: "POST", url: "/v2/f/blobs/uploads/?mount=" + d + "&from=nothing", header: admin(), status: 202,
			wantHeader: map[string]string{"Location": "?"}},
		{name: "mount: no source", method: "POST", url: "/v2/f/blobs/uploads/?mount=" + d, header: admin(), status: 202},
	})
}

func TestUploadContinuesOnAnotherInstance(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	first := ts.h.Load()
	second := newHandler(t, first.deps.Storage, first.deps.Auth, Config{})
	data := []byte("one upload, two registries")
	d := sha256Digest(data)
	runSteps(t, ts, []step{
		{name: "start on first", method: "POST", url: "/v2/app/blobs/uploads/", header: admin(), status: 202},
		{name: "chunk on first", method: "PATCH", url: "{loc}", header: admin("Content-Range", "0-9"), body: data[:10], status: 202},
		{name: "status on second", before: func() { ts.h.Store(second) }, method: "GET", url: "{loc}", header: admin(), status: 204,
			wantHeader: map[string]string{"Range": "0-9"}},
		{name: "chunk on second", method: "PATCH", url: "{loc}", header: admin("Content-Range", "10-19"), body: data[10:20], status: 202},
		{name: "finish on first", before: func() { ts.h.Store(first) }, method: "PUT", url: "{loc}?digest=" + d, header: admin(),
			body: data[20:], status: 201},
		{name: "read on second", before: func() { ts.h.Store(second) }, method: "GET", url: "/v2/app/blobs/" + d, header: admin(),
			status: 200, wantBody: data},
	})
}

func TestManifests(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	m := testImage(t, ts, "team/sub/app", "layer")
	d := sha256Digest(m)
	idx := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d}]}`,
		MediaTypeImageIndex, MediaTypeImageManifest, d, len(m)))
	missing := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/x","digest":%q,"size":1},"layers":[]}`,
		MediaTypeImageManifest, sha256Digest([]byte("nope"))))
	ct := func(mt string) http.Header { return admin("Content-Type", mt) }
	sum512 := sha512.Sum512(m)
	d512 := "sha512:" + hex.EncodeToString(sum512[:])
	runSteps(t, ts, []step{
		{name: "PUT by tag", method: "PUT", url: "/v2/team/sub/app/manifests/v1", header: ct(MediaTypeImageManifest), body: m, status: 201,
			wantHeader: map[string]string{"Docker-Content-Digest": d, "Location": ts.URL + "/oci/v2/team/sub/app/manifests/" + d, "OCI-Subject": ""}},
		{name: "GET by tag", method: "GET", url: "/v2/team/sub/app/manifests/v1", header: admin(), status: 200, wantBody: m,
			wantHeader: map[string]string{"Docker-Content-Digest": d, "Content-Type": MediaTypeImageManifest, "Content-Length": fmt.Sprint(len(m))}},
		{name: "HEAD by digest", method: "HEAD", url: "/v2/team/sub/app/manifests/" + d, header: admin(), status: 200,
			wantHeader: map[string]string{"Docker-Content-Digest": d, "Content-Type": MediaTypeImageManifest, "Content-Length": fmt.Sprint(len(m))}},
		{name: "PUT by sha512 digest", method: "PUT", url: "/v2/team/sub/app/manifests/" + d512, header: ct(MediaTypeImageManifest), body: m, status: 201,
			wantHeader: map[string]string{"Docker-Content-Digest": d512}},
		{name: "PUT by digest with tags", method: "PUT", url: "/v2/team/sub/app/manifests/" + d + "?tag=t1&tag=t2", header: ct(MediaTypeImageManifest),
			body: m, status: 201, check: func(t *testing.T, r *http.Response, _ []byte) {
				if got := r.Header.Values("OCI-Tag"); len(got) != 2 || got[0] != "t1" || got[1] != "t2" {
					t.Errorf("OCI-Tag = %v", got)
				}
			}},
		{name: "GET by tag param", method: "GET", url: "/v2/team/sub/app/manifests/t2", header: admin(), status: 200, wantBody: m},
		{name: "PUT wrong digest", method: "PUT", url: "/v2/team/sub/app/manifests/" + sha256Digest([]byte("x")), header: ct(MediaTypeImageManifest), body: m,
			status: 400, code: "DIGEST_INVALID"},
		{name: "PUT index", method: "PUT", url: "/v2/team/sub/app/manifests/multi", header: ct(MediaTypeImageIndex), body: idx, status: 201},
		{name: "GET index", method: "GET", url: "/v2/team/sub/app/manifests/multi", header: admin(), status: 200, wantBody: idx,
			wantHeader: map[string]string{"Content-Type": MediaTypeImageIndex}},
		{name: "index elsewhere", method: "PUT", url: "/v2/other/manifests/multi", header: ct(MediaTypeImageIndex), body: idx,
			status: 400, code: "MANIFEST_UNKNOWN"},
		{name: "missing blob", method: "PUT", url: "/v2/team/sub/app/manifests/bad", header: ct(MediaTypeImageManifest), body: missing,
			status: 400, code: "MANIFEST_BLOB_UNKNOWN"},
		{name: "not JSON", method: "PUT", url: "/v2/team/sub/app/manifests/bad", header: ct(MediaTypeImageManifest), body: []byte("{"),
			status: 400, code: "MANIFEST_INVALID"},
		{name: "text/html", method: "PUT", url: "/v2/team/sub/app/manifests/html", header: ct("text/html"),
			body: []byte(`{"schemaVersion":2,"layers":[],"x":"<script>alert(1)</script>"}`), status: 400, code: "MANIFEST_INVALID"},
		{name: "html never tagged", method: "GET", url: "/v2/team/sub/app/manifests/html", header: admin(), status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "media type mismatch", method: "PUT", url: "/v2/team/sub/app/manifests/bad", header: ct(MediaTypeImageIndex), body: m,
			status: 400, code: "MANIFEST_INVALID"},
		{name: "too large", method: "PUT", url: "/v2/team/sub/app/manifests/big", header: ct(MediaTypeImageManifest),
			body: []byte(`{"schemaVersion":2,"x":"` + strings.Repeat("a", 4<<20) + `"}`), status: 413, code: "MANIFEST_INVALID"},
		{name: "bad reference", method: "GET", url: "/v2/team/sub/app/manifests/-bad", header: admin(), status: 400},
		{name: "unknown tag", method: "GET", url: "/v2/team/sub/app/manifests/v9", header: admin(), status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "DELETE tag", method: "DELETE", url: "/v2/team/sub/app/manifests/multi", header: admin(), status: 202},
		{name: "tag gone", method: "GET", url: "/v2/team/sub/app/manifests/multi", header: admin(), status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "DELETE digest", method: "DELETE", url: "/v2/team/sub/app/manifests/" + d, header: admin(), status: 202},
		{name: "digest gone", method: "GET", url: "/v2/team/sub/app/manifests/" + d, header: admin(), status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "its tag gone", method: "GET", url: "/v2/team/sub/app/manifests/v1", header: admin(), status: 404, code: "MANIFEST_UNKNOWN"},
	})
}

func TestNames(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	for _, name := range []string{"UPPER", "-a", "a_", "a/_b", "a..b"} {
		runSteps(t, ts, []step{{name: name, method: "GET", url: "/v2/" + name + "/tags/list", header: admin(), status: 400, code: "NAME_INVALID"}})
	}
	runSteps(t, ts, []step{
		{name: "nested unknown", method: "GET", url: "/v2/a/b/c/tags/list", header: admin(), status: 404, code: "NAME_UNKNOWN"},
	})
}

func TestBlobIsolation(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	secret := pushBlob(t, ts, "team-b/secret", []byte("private layer"))
	alice := basic(aliceUser, alicePass)
	runSteps(t, ts, []step{
		{name: "guess digest in own repo", method: "GET", url: "/v2/team-a/app/blobs/" + secret, header: alice, status: 404, code: "BLOB_UNKNOWN"},
		{name: "read other repo", method: "GET", url: "/v2/team-b/secret/blobs/" + secret, header: alice, status: 403, code: "DENIED"},
		{name: "claim by digest without content", method: "POST", url: "/v2/team-c/x/blobs/uploads/?digest=" + secret,
			header: admin(), body: []byte("not it"), status: 400, code: "DIGEST_INVALID"},
		{name: "still not in team-c", method: "HEAD", url: "/v2/team-c/x/blobs/" + secret, header: admin(), status: 404},
	})
}

func TestTags(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	m := testImage(t, ts, "app", "layer")
	var steps []step
	for _, tag := range []string{"b", "a", "c", "v1.0", "latest"} {
		steps = append(steps, step{name: "tag " + tag, method: "PUT", url: "/v2/app/manifests/" + tag,
			header: admin("Content-Type", MediaTypeImageManifest), body: m, status: 201})
	}
	link := func(n, last string) string {
		return fmt.Sprintf(`<%s/oci/v2/app/tags/list?last=%s&n=%s>; rel="next"`, ts.URL, last, n)
	}
	steps = append(steps,
		step{name: "all", method: "GET", url: "/v2/app/tags/list", header: admin(), status: 200,
			wantBody: []byte(`{"name":"app","tags":["a","b","c","latest","v1.0"]}`), wantHeader: map[string]string{"Link": ""}},
		step{name: "first page", method: "GET", url: "/v2/app/tags/list?n=2", header: admin(), status: 200,
			wantBody: []byte(`{"name":"app","tags":["a","b"]}`), wantHeader: map[string]string{"Link": link("2", "b")}},
		step{name: "next page", method: "GET", url: "/v2/app/tags/list?n=2&last=b", header: admin(), status: 200,
			wantBody: []byte(`{"name":"app","tags":["c","latest"]}`), wantHeader: map[string]string{"Link": link("2", "latest")}},
		step{name: "last page", method: "GET", url: "/v2/app/tags/list?n=2&last=latest", header: admin(), status: 200,
			wantBody: []byte(`{"name":"app","tags":["v1.0"]}`), wantHeader: map[string]string{"Link": ""}},
		step{name: "n=0", method: "GET", url: "/v2/app/tags/list?n=0", header: admin(), status: 200,
			wantBody: []byte(`{"name":"app","tags":[]}`)},
		step{name: "bad n", method: "GET", url: "/v2/app/tags/list?n=x", header: admin(), status: 400},
		step{name: "unknown repo", method: "GET", url: "/v2/nothing/tags/list", header: admin(), status: 404, code: "NAME_UNKNOWN"},
	)
	runSteps(t, ts, steps)
}

func TestReferrers(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	m := testImage(t, ts, "app", "layer")
	subject := sha256Digest(m)
	empty := pushBlob(t, ts, "app", []byte("{}"))
	artifact := func(typ string) []byte {
		return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":%q,`+
			`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":2},"layers":[],`+
			`"subject":{"mediaType":%q,"digest":%q,"size":%d},"annotations":{"k":"v"}}`,
			MediaTypeImageManifest, typ, empty, MediaTypeImageManifest, subject, len(m)))
	}
	sig, sbom := artifact("application/vnd.example.sig"), artifact("application/vnd.example.sbom")
	ct := admin("Content-Type", MediaTypeImageManifest)
	wantIndex := func(want ...[]byte) func(*testing.T, *http.Response, []byte) {
		return func(t *testing.T, resp *http.Response, body []byte) {
			var idx referrersIndex
			if err := json.Unmarshal(body, &idx); err != nil || idx.MediaType != MediaTypeImageIndex || idx.SchemaVersion != 2 {
				t.Fatalf("referrers %s", body)
			}
			if len(idx.Manifests) != len(want) {
				t.Fatalf("referrers %s, want %d", body, len(want))
			}
			for _, w := range want {
				found := false
				for _, d := range idx.Manifests {
					found = found || (d.Digest == sha256Digest(w) && d.Size == int64(len(w)) && d.Annotations["k"] == "v")
				}
				if !found {
					t.Errorf("referrers %s lack %s", body, sha256Digest(w))
				}
			}
		}
	}
	runSteps(t, ts, []step{
		{name: "none yet", method: "GET", url: "/v2/app/referrers/" + subject, header: admin(), status: 200, check: wantIndex(),
			wantHeader: map[string]string{"Content-Type": MediaTypeImageIndex}},
		{name: "push referrer before subject", method: "PUT", url: "/v2/app/manifests/sig", header: ct, body: sig, status: 201,
			wantHeader: map[string]string{"OCI-Subject": subject}},
		{name: "push subject", method: "PUT", url: "/v2/app/manifests/v1", header: ct, body: m, status: 201},
		{name: "push sbom by digest", method: "PUT", url: "/v2/app/manifests/" + sha256Digest(sbom), header: ct, body: sbom, status: 201},
		{name: "all", method: "GET", url: "/v2/app/referrers/" + subject, header: admin(), status: 200, check: wantIndex(sig, sbom),
			wantHeader: map[string]string{"OCI-Filters-Applied": ""}},
		{name: "filtered", method: "GET", url: "/v2/app/referrers/" + subject + "?artifactType=application/vnd.example.sbom",
			header: admin(), status: 200, check: wantIndex(sbom), wantHeader: map[string]string{"OCI-Filters-Applied": "artifactType"}},
		{name: "bad digest", method: "GET", url: "/v2/app/referrers/sha256:zz", header: admin(), status: 400, code: "DIGEST_INVALID"},
		{name: "delete sig", method: "DELETE", url: "/v2/app/manifests/" + sha256Digest(sig), header: admin(), status: 202},
		{name: "after delete", method: "GET", url: "/v2/app/referrers/" + subject, header: admin(), status: 200, check: wantIndex(sbom)},
	})
	off := newTestServer(t, nil, Config{DisableReferrers: true})
	runSteps(t, off, []step{
		{name: "disabled", method: "GET", url: "/v2/app/referrers/" + subject, header: admin(), status: 404},
	})
}

func TestCleanUploads(t *testing.T) { forEachBackend(t, testCleanUploads) }

func testCleanUploads(t *testing.T, backend core.Backend) {
	ts := newTestServer(t, backend, Config{})
	runSteps(t, ts, []step{
		{name: "start", method: "POST", url: "/v2/app/blobs/uploads/", header: admin(), status: 202},
		{name: "chunk", method: "PATCH", url: "{loc}", header: admin(), body: []byte("abandoned"), status: 202},
	})
	h := ts.h.Load()
	ctx := t.Context()
	if n, err := h.CleanUploads(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("fresh upload: removed %d, %v", n, err)
	}
	if n, err := h.CleanUploads(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("stale upload: removed %d, %v", n, err)
	}
	page, err := h.deps.Storage.List(ctx, uploadsPrefix, core.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Fatalf("left behind: %+v, %v", page.Objects, err)
	}
}

// TestConcurrentChunks races two PATCHes for the same offset: exactly one
// wins, the other is told the range is not satisfiable, and the upload
// completes with the winner's bytes.
func TestConcurrentChunks(t *testing.T) { forEachBackend(t, testConcurrentChunks) }

func testConcurrentChunks(t *testing.T, backend core.Backend) {
	ts := newTestServer(t, backend, Config{})
	loc := ""
	runSteps(t, ts, []step{{name: "start", method: "POST", url: "/v2/app/blobs/uploads/", header: admin(), status: 202,
		check: func(_ *testing.T, r *http.Response, _ []byte) { loc = r.Header.Get("Location") }}})
	bodies := [][]byte{[]byte("aaaaa"), []byte("bbbbb")}
	statuses := patchConcurrently(t, []patch{
		{ts: ts, url: loc, header: admin("Content-Range", "0-4"), body: bodies[0]},
		{ts: ts, url: loc, header: admin("Content-Range", "0-4"), body: bodies[1]},
	})
	winner := slices.Index(statuses, http.StatusAccepted)
	if winner < 0 || statuses[1-winner] != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("statuses %v, want one 202 and one 416", statuses)
	}
	d := sha256Digest(bodies[winner])
	runSteps(t, ts, []step{
		{name: "finish", method: "PUT", url: loc + "?digest=" + d, header: admin(), status: 201},
		{name: "winner's bytes", method: "GET", url: "/v2/app/blobs/" + d, header: admin(), status: 200, wantBody: bodies[winner]},
	})
}

// TestTokenScopeLimit checks that a token request asking for more scopes
// than maxTokenScopes is refused rather than served with a huge token.
func TestTokenScopeLimit(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	scopes := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "&scope=repository:r%d:pull", i)
		}
		return b.String()
	}
	runSteps(t, ts, []step{
		{name: "at the limit", method: "GET", url: "/oci/token?service=smartregistry" + scopes(maxTokenScopes), status: 200},
		{name: "over the limit", method: "GET", url: "/oci/token?service=smartregistry" + scopes(maxTokenScopes+1), status: 400},
		{name: "repeats count once", method: "GET", url: "/oci/token?service=smartregistry" + scopes(maxTokenScopes) + scopes(10), status: 200},
	})
}

// TestTagsLastNotATag checks that a ?last= that no tag can be is a client
// error on every backend, not a storage listing after an arbitrary key
// (which S3 refuses with a 500 for "a/../x").
func TestTagsLastNotATag(t *testing.T) { forEachBackend(t, testTagsLastNotATag) }

func testTagsLastNotATag(t *testing.T, backend core.Backend) {
	ts := newTestServer(t, backend, Config{})
	m := testImage(t, ts, "app", "layer")
	runSteps(t, ts, []step{
		{name: "tag", method: "PUT", url: "/v2/app/manifests/v1", header: admin("Content-Type", MediaTypeImageManifest), body: m, status: 201},
		{name: "last is a tag", method: "GET", url: "/v2/app/tags/list?last=a", header: admin(), status: 200,
			wantBody: []byte(`{"name":"app","tags":["v1"]}`)},
		{name: "last with dots and slashes", method: "GET", url: "/v2/app/tags/list?last=a/../../x", header: admin(), status: 400},
	})
}

// TestRefusedMonolithicUploadLeavesNothing: a POST with ?digest= whose
// body is not that digest (or breaks the chunk rules) removes its session
// and data at once, not at the stale-upload sweep.
func TestRefusedMonolithicUploadLeavesNothing(t *testing.T) {
	ts := newTestServer(t, nil, Config{})
	data := []byte("not what the digest says")
	runSteps(t, ts, []step{
		{name: "wrong digest", method: "POST", url: "/v2/app/blobs/uploads/?digest=" + sha256Digest([]byte("x")),
			header: admin(), body: data, status: 400, code: "DIGEST_INVALID"},
		{name: "wrong sha512 digest", method: "POST", url: "/v2/app/blobs/uploads/?digest=sha512:" + strings.Repeat("0", 128),
			header: admin(), body: data, status: 400, code: "DIGEST_INVALID"},
	})
	st := ts.h.Load().deps.Storage
	page, err := st.List(t.Context(), uploadsPrefix, core.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) > 0 {
		t.Errorf("refused uploads left %d objects, first %s", len(page.Objects), page.Objects[0].Key)
	}
}
