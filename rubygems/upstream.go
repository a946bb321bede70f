package rubygems

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/upstream"
)

// Proxying. A gem this registry does not hold is fetched from the
// upstreams core.Deps.Upstream names for it (scope rules included); each
// upstream URL is a gem source, the URL gem and bundler would be given
// (https://rubygems.org, or another smartregistry's …/rubygems).
//
//   - /info/<gem> is the upstream's, cached with the TTL of Config.Upstream
//     and served byte for byte: its lines hold no URL, and their checksums
//     are the sha256 of the .gem files, which stay valid.
//   - /versions is the local file followed by the lines of each
//     upstream's /versions (cached with the TTL) that name gems that are
//     not local and that the scope rules send to that upstream (the first
//     upstream listing a gem wins). bundler reads /info/<gem> only for gems
//     /versions lists, and decides by the MD5 on their lines whether its
//     copy is current: those lines are the upstream's, whose MD5 is that of
//     the /info file served as is. The upstream part is not append-only
//     across changes; bundler then finds the ETag of its ranged copy wrong
//     and reads the whole file again, which it does by itself. The
//     upstreams are enumerated through upstream.Lister (the static
//     provider is one); with a provider that is not, /versions shows local
//     gems only, and gem install (which reads /info/<gem> directly) still
//     proxies. The legacy index, /names and the JSON API show local gems
//     only.
//   - /quick/Marshal.4.8/<full>.gemspec.rz, which gem install reads before
//     a download, is the upstream's, kept for good.
//   - /gems/<full>.gem is fetched when first asked for, streamed to the
//     client while it is checked against the checksum of its /info line,
//     and kept for good; a truncated or mismatching body is never cached.
//
// A gem held locally (pushed here, even with every version yanked)
// shadows the upstream gem of its name entirely: Policy.Merge is ignored.
// Reading (the read scope) is all a fetch needs, unless
// Config.Upstream.NewNamesNeedWrite asks for write before a gem is first
// fetched.

// Upstream returns the client that fetches from the upstreams, or nil when
// none are configured; its Breakers report their circuit breakers.
func (h *Handler) Upstream() *upstream.Client { return h.up }

// proxied reports whether a local miss (err) may be asked upstream.
func (h *Handler) proxied(err error) bool {
	return h.up != nil && errors.Is(err, core.ErrNotFound)
}

// upstreamInfoDoc returns the upstream /info file of a gem the caller may
// read (checked by the caller), checked before it is cached.
func (h *Handler) upstreamInfoDoc(ctx context.Context, req *core.RequestContext, name string) (*upstream.Document, error) {
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name})
	if h.cfg.Upstream.NewNamesNeedWrite {
		if _, err := h.deps.Storage.Stat(core.WithKind(ctx, core.KindMetadata), upstreamInfoKey(name)); errors.Is(err, core.ErrNotFound) {
			if _, err := h.authorize(ctx, req, name, core.ActionWrite); err != nil {
				return nil, err
			}
		}
	}
	doc, err := h.up.Metadata(ctx, upstream.MetadataRequest{
		Name: name, Key: upstreamInfoKey(name), Path: "/info/" + name,
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			_, err := parseUpstreamInfo(body)
			return body, err
		},
	})
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: gem %s", core.ErrNotFound, name)
	}
	return doc, err
}

// parseUpstreamInfo reads an upstream /info file: "---", then one line
// per version, "<version>[-<platform>] <deps>|checksum:<sha256>,…". It
// returns the sha256 (hex) of each version's .gem.
func parseUpstreamInfo(body []byte) (map[string]string, error) {
	rest, ok := bytes.CutPrefix(body, []byte(infoHeader))
	if !ok {
		return nil, errors.New("upstream /info file: no \"---\" header")
	}
	sums := map[string]string{}
	for line := range strings.SplitSeq(string(rest), "\n") {
		if line == "" {
			continue
		}
		id, rest, ok := strings.Cut(line, " ")
		version, platform, _ := strings.Cut(id, "-")
		if !ok || ValidateVersion(version) != nil || (platform != "" && ValidatePlatform(platform) != nil) {
			return nil, fmt.Errorf("upstream /info file: malformed line %.80q", line)
		}
		_, reqs, _ := strings.Cut(rest, "|")
		var sum string
		for r := range strings.SplitSeq(reqs, ",") {
			if v, ok := strings.CutPrefix(r, "checksum:"); ok {
				sum = v
			}
		}
		if _, err := upstream.HexDigest("sha256", sum); err != nil {
			return nil, fmt.Errorf("upstream /info file, version %s: %w", id, err)
		}
		sums[id] = sum
	}
	return sums, nil
}

// upstreamInfo serves /info/<gem> of a gem held upstream, as the upstream
// sent it.
func (h *Handler) upstreamInfo(ctx context.Context, req *core.RequestContext, name string) (*core.Response, error) {
	doc, err := h.upstreamInfoDoc(ctx, req, name)
	if err != nil {
		return nil, err
	}
	sum, _ := hex.DecodeString(doc.Sum)
	return serveIndexFile(req, doc.Body, h.md5s.of(doc), sum)
}

// md5Cache keeps the MD5 (hex) of upstream /info files by their sha256,
// so that serving a cached one hashes nothing. When full, it starts over.
type md5Cache struct {
	mu   sync.Mutex
	sums map[string]string
}

// maxMD5s bounds the MD5s kept.
const maxMD5s = 4096

func (c *md5Cache) of(doc *upstream.Document) string {
	c.mu.Lock()
	s, ok := c.sums[doc.Sum]
	c.mu.Unlock()
	if ok {
		return s
	}
	m := md5.Sum(doc.Body)
	s = hex.EncodeToString(m[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sums == nil || len(c.sums) >= maxMD5s {
		c.sums = map[string]string{}
	}
	c.sums[doc.Sum] = s
	return s
}

// upstreamVersion is a version of a gem held upstream, as its /info file
// says.
type upstreamVersion struct {
	name, id string
	sha256   string
	from     string // the upstream the /info file came from
}

// upstreamFind finds the upstream version a full name stands for (see
// fullNameSplits) in a gem the caller may read that is not held locally.
// cached is tried first for each candidate (name, key of what is asked
// for); when it answers, nothing is asked upstream.
func (h *Handler) upstreamFind(ctx context.Context, req *core.RequestContext, full string,
	cached func(name string) (*core.Response, error)) (*core.Response, *upstreamVersion, error) {
	var refused error
	for name, id := range fullNameSplits(full) {
		if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
			if refused == nil {
				refused = err
			}
			continue
		}
		if _, err := h.deps.Storage.Stat(ctx, gemKey(name)); err == nil {
			continue // a local gem shadows the upstream one
		} else if !errors.Is(err, core.ErrNotFound) {
			return nil, nil, err
		}
		if len(h.up.Upstreams(ctx, name)) == 0 {
			continue
		}
		if resp, err := cached(name); err == nil {
			return resp, nil, nil
		} else if !errors.Is(err, core.ErrNotFound) {
			return nil, nil, err
		}
		doc, err := h.upstreamInfoDoc(ctx, req, name)
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		sums, err := parseUpstreamInfo(doc.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", core.ErrUnavailable, err)
		}
		if sum, ok := sums[id]; ok {
			return nil, &upstreamVersion{name: name, id: id, sha256: sum, from: doc.Upstream}, nil
		}
	}
	if refused != nil {
		return nil, nil, refused
	}
	return nil, nil, fmt.Errorf("%w: %s", core.ErrNotFound, full)
}

// upstreamDownload serves /gems/<full>.gem of a gem held upstream: from
// the cache, else fetched and checked against the checksum of its /info
// line.
func (h *Handler) upstreamDownload(ctx context.Context, req *core.RequestContext, full string) (*core.Response, error) {
	return h.upstreamFile(ctx, req, full, "/gems/"+full+".gem", true,
		func(name string) string { return upstreamGemKey(name, full) })
}

// upstreamQuickSpec serves /quick/Marshal.4.8/<full>.gemspec.rz of a gem
// held upstream: the upstream's, kept for good once fetched.
func (h *Handler) upstreamQuickSpec(ctx context.Context, req *core.RequestContext, full string) (*core.Response, error) {
	return h.upstreamFile(ctx, req, full, "/quick/Marshal.4.8/"+full+".gemspec.rz", false,
		func(name string) string { return upstreamSpecKey(name, full) })
}

// upstreamFile serves a file of an upstream version (path below the
// upstream's URL): from the cache (keyOf the gem's name), else fetched
// and kept for good, checked against the version's /info checksum when
// checked is set.
func (h *Handler) upstreamFile(ctx context.Context, req *core.RequestContext, full, path string, checked bool,
	keyOf func(name string) string) (*core.Response, error) {
	resp, v, err := h.upstreamFind(ctx, req, full, func(name string) (*core.Response, error) {
		rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindArtifact), keyOf(name), nil)
		if err != nil {
			return nil, err
		}
		return core.StreamResponse(http.StatusOK, "application/octet-stream", rc, info.Size), nil
	})
	if err != nil || resp != nil {
		return resp, err
	}
	var digests []upstream.Digest
	if checked {
		d, _ := upstream.HexDigest("sha256", v.sha256) // checked by parseUpstreamInfo
		digests = append(digests, d)
	}
	a, err := h.up.Artifact(core.WithObject(ctx, core.ObjectRef{Package: v.name, Version: v.id}), upstream.ArtifactRequest{
		Name: v.name, Key: keyOf(v.name), Path: path, From: v.from, StagePrefix: uploadsPrefix, Digests: digests})
	if err != nil {
		return nil, err
	}
	return core.StreamResponse(http.StatusOK, a.ContentType, a.Body, a.Size), nil
}

// upstreamVersions is the /versions file of one upstream.
type upstreamVersions struct {
	from string // the upstream's name
	sum  string // the document's sha256
	body []byte
}

// upstreamVersionsDocs returns the /versions file of every upstream, first
// choice first; one that cannot be had (and was never cached) is left out
// and logged.
func (h *Handler) upstreamVersionsDocs(ctx context.Context) []upstreamVersions {
	if h.up == nil {
		return nil
	}
	var out []upstreamVersions
	for _, u := range h.up.All(ctx) {
		doc, err := h.up.Metadata(ctx, upstream.MetadataRequest{
			Name: "/versions", Key: upstreamVersionsKey(u.Name), Path: "/versions", Upstream: u.Name,
			Check: func(body []byte, _ core.Upstream) ([]byte, error) {
				if _, ok := versionsLines(body); !ok {
					return nil, errors.New("upstream /versions: no \"---\" line")
				}
				return body, nil
			},
		})
		if err != nil {
			h.log.Warn("rubygems: the /versions of an upstream is left out", "upstream", u.Name, "error", err)
			continue
		}
		out = append(out, upstreamVersions{from: u.Name, sum: doc.Sum, body: doc.Body})
	}
	return out
}

// versionsLines returns the gem lines of a /versions file: what follows
// its "---" line.
func versionsLines(body []byte) ([]byte, bool) {
	if rest, ok := bytes.CutPrefix(body, []byte("---\n")); ok {
		return rest, true
	}
	if i := bytes.Index(body, []byte("\n---\n")); i >= 0 {
		return body[i+5:], true
	}
	return nil, false
}

// mergedCache keeps the last /versions rendered with the upstreams' gems.
type mergedCache struct {
	mu   sync.Mutex
	key  string
	snap *versionsSnapshot
}

// versionsWithUpstreams returns /versions: the local file, followed by
// the upstreams' lines of gems held upstream only (see mergeVersions),
// rendered again only when the local file or an upstream's changes.
func (h *Handler) versionsWithUpstreams(ctx context.Context) (*versionsSnapshot, error) {
	docs := h.upstreamVersionsDocs(ctx)
	var out *versionsSnapshot
	err := h.versions.withGems(ctx, func(seq int64, gems map[string]*listedGem) {
		local := h.versions.snap
		if len(docs) == 0 {
			out = local
			return
		}
		var key strings.Builder
		fmt.Fprintf(&key, "%d", seq)
		for _, d := range docs {
			key.WriteString(" " + d.from + "=" + d.sum)
		}
		h.merged.mu.Lock()
		defer h.merged.mu.Unlock()
		if h.merged.key == key.String() {
			out = h.merged.snap
			return
		}
		servesCache := map[string][]core.Upstream{}
		serves := func(name, from string) bool {
			ups, ok := servesCache[name]
			if !ok {
				ups = h.up.Upstreams(ctx, name)
				servesCache[name] = ups
			}
			return slices.ContainsFunc(ups, func(u core.Upstream) bool { return u.Name == from })
		}
		out = mergeVersions(local, func(name string) bool { _, ok := gems[name]; return ok }, docs, serves)
		h.merged.key, h.merged.snap = key.String(), out
	})
	return out, err
}

// mergeVersions appends to the local /versions the lines of the
// upstreams' files (first choice first) that name a gem that is not local
// and that serves sends to that upstream; a gem listed by an earlier
// upstream is left out of the later ones. Malformed lines (not three
// fields, an invalid name) are left out.
func mergeVersions(local *versionsSnapshot, isLocal func(string) bool, docs []upstreamVersions,
	serves func(name, from string) bool) *versionsSnapshot {
	body := slices.Clip(local.body)
	owner := map[string]string{}
	for _, d := range docs {
		lines, _ := versionsLines(d.body)
		decided := map[string]bool{}
		for line := range bytes.SplitSeq(lines, []byte("\n")) {
			f := bytes.Fields(line)
			if len(f) != 3 || len(f[2]) != 32 {
				continue
			}
			name := string(f[0])
			ok, seen := decided[name]
			if !seen {
				ok = ValidateName(name) == nil && !isLocal(name) && owner[name] == "" && serves(name, d.from)
				decided[name] = ok
				if ok {
					owner[name] = d.from
				}
			}
			if ok {
				body = append(body, line...)
				body = append(body, '\n')
			}
		}
	}
	m, sh := md5.Sum(body), sha256.Sum256(body)
	return &versionsSnapshot{seq: local.seq, body: body, md5: hex.EncodeToString(m[:]), sha256: sh[:]}
}
