package maven

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/digest"
	"github.com/smartregistry/smartregistry/upstream"
)

// Proxying. A path this repository does not hold is asked of the upstreams
// core.Deps.Upstream names for it; each upstream URL is a repository root,
// what mvn's <repository><url> would be. Scope rules match the name
// <groupId>:<artifactId>, as ArtifactScope spells it ("com.acme*" is the
// group com.acme and its subgroups, "com.acme:lib-*" some artifacts of
// one group). A directory's maven-metadata.xml is named after the
// artifact the directory would be: its last segment the artifactId, the
// rest the groupId, and for a SNAPSHOT version directory the two above, so
// the group-level (plugin) metadata of com.acme is asked as com:acme.
//
//   - maven-metadata.xml (group, artifact and SNAPSHOT version level) is
//     mutable: cached with the TTL of Config.Upstream, checked (XML whose
//     coordinates are the path's) and served as the upstream sent it (it
//     holds no URL). Its .md5, .sha1, .sha256 and .sha512 are computed
//     from the body served, never fetched, so they always agree with it.
//   - Every other file (jar, pom, module, sources, their .asc) is
//     immutable: on first request the upstream's .sha1 is fetched, then
//     its .sha512 (or else .sha256) when it has one; the file is streamed
//     to the client while it is checked against them, and cached for good
//     (a truncated or mismatching body fails the response and is never
//     cached). An upstream without a .sha1 for a file is taken not to
//     have it. The checksum files of a cached file are computed from its
//     bytes when first asked for and kept beside it.
//   - SNAPSHOT builds: a timestamped file (app-1.0-20260102.150405-3.jar)
//     names one build's bytes for good, so it is cached like a release
//     file. What moves is the version-level maven-metadata.xml, which
//     says which build is the newest: it has the TTL. A non-unique name
//     (app-1.0-SNAPSHOT.jar) is resolved through that metadata to the
//     newest timestamped file of its classifier and extension, and serves
//     it.
//
// A local artifact (one deployed here: its artifact document exists)
// shadows the upstream artifact of the same groupId:artifactId entirely,
// metadata and files, unless Config.Upstream.Merge: then its
// artifact-level metadata also lists the upstream's versions (local
// lastUpdated, latest and release win unless the upstream's are newer),
// and the files and SNAPSHOT metadata of versions that have no local
// files come from the upstream. Group-level metadata is local when the
// group has local plugins, else the upstream's; it is never merged.
// Reading (the read scope) is all a fetch needs, unless
// Config.Upstream.NewNamesNeedWrite asks for write before anything of an
// artifact is cached.

// Upstream returns the client that fetches from the upstreams, or nil when
// none are configured; its Breakers report their circuit breakers.
func (h *Handler) Upstream() *upstream.Client { return h.up }

// merging reports whether local artifacts show their upstream versions too.
func (h *Handler) merging() bool { return h.up != nil && h.cfg.Upstream.Merge }

// upstreamName is the name scope rules match.
func upstreamName(group, artifact string) string { return group + ":" + artifact }

// localArtifact reports whether group:artifact has been deployed here.
func (h *Handler) localArtifact(ctx context.Context, group, artifact string) (bool, error) {
	_, err := h.deps.Storage.Stat(core.WithKind(ctx, core.KindMetadata), artifactKey(group, artifact))
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// proxiedFile reports whether a file that is not held locally may be asked
// upstream: its artifact is not local, or it is and merging is on and its
// version has no local files.
func (h *Handler) proxiedFile(ctx context.Context, c Coordinates) (bool, error) {
	local, err := h.localArtifact(ctx, c.Group, c.Artifact)
	if err != nil || !local {
		return !local && err == nil, err
	}
	if !h.merging() {
		return false, nil
	}
	has, err := h.hasFiles(ctx, c.Group, c.Artifact, c.Version)
	return !has && err == nil, err
}

// mayFetchNew checks, under Config.Upstream.NewNamesNeedWrite, that a
// caller who would make the repository fetch something of group:artifact
// while nothing of it is cached (neither key, nor a file, nor its
// artifact-level metadata) may write the artifact.
func (h *Handler) mayFetchNew(ctx context.Context, p *core.Principal, group, artifact, key string) error {
	if !h.cfg.Upstream.NewNamesNeedWrite {
		return nil
	}
	s := h.deps.Storage
	for _, k := range []string{key, upstreamMetaKey(groupPath(group) + "/" + artifact)} {
		if _, err := s.Stat(ctx, k); k != "" && err == nil {
			return nil
		}
	}
	if page, err := s.List(ctx, upstreamFilesPrefix(group, artifact), core.ListOptions{Limit: 1}); err == nil && len(page.Objects) > 0 {
		return nil
	}
	return h.deps.Auth.Authorize(ctx, p, ArtifactScope(group, artifact, core.ActionWrite))
}

// metadataOwner returns the artifact a directory's maven-metadata.xml is
// asked upstream for (see the comment at the top), and its level when it
// is a SNAPSHOT version directory.
func metadataOwner(dir []string) (group, artifact string, snapshot bool, err error) {
	n := len(dir)
	if n >= 3 && IsSnapshot(dir[n-1]) {
		if g, err := joinGroup(dir[:n-2]); err == nil && ValidateID("artifactId", dir[n-2]) == nil {
			return g, dir[n-2], true, nil
		}
	}
	if n >= 2 {
		if g, err := joinGroup(dir[:n-1]); err == nil && ValidateID("artifactId", dir[n-1]) == nil {
			return g, dir[n-1], false, nil
		}
	}
	g, err := joinGroup(dir)
	return g, "*", false, err
}

// upstreamMetadata serves the maven-metadata.xml of a directory that holds
// none locally (lm says what metadataAt saw), from the upstreams.
func (h *Handler) upstreamMetadata(ctx context.Context, lm localMetadata, dir []string) (*rendered, error) {
	notFound := fmt.Errorf("%w: %s/%s", core.ErrNotFound, strings.Join(dir, "/"), MetadataFile)
	g, a, snapshot, err := metadataOwner(dir)
	if err != nil {
		return nil, notFound
	}
	p := lm.principal
	if err := h.deps.Auth.Authorize(ctx, p, ArtifactScope(g, a, core.ActionRead)); err != nil {
		return nil, err
	}
	local := lm.local // metadataAt looked at the artifact already, unless it is a SNAPSHOT's
	if snapshot {
		if local, err = h.localArtifact(ctx, g, a); err != nil {
			return nil, err
		}
	}
	if a != "*" && local && !(snapshot && h.merging()) {
		return nil, notFound
	}
	doc, err := h.fetchMetadata(ctx, p, g, a, dir)
	if err != nil {
		return nil, err
	}
	return h.renderedDoc(upstreamMetaKey(strings.Join(dir, "/")), doc), nil
}

// fetchMetadata gets the upstream maven-metadata.xml of dir, whose
// artifact is group:artifact, through the cache.
func (h *Handler) fetchMetadata(ctx context.Context, p *core.Principal, group, artifact string, dir []string) (*upstream.Document, error) {
	path := strings.Join(dir, "/")
	key := upstreamMetaKey(path)
	ctx = core.WithObject(ctx, core.ObjectRef{Package: upstreamName(group, artifact)})
	if err := h.mayFetchNew(ctx, p, group, artifact, key); err != nil {
		return nil, err
	}
	limit := h.up.Policy().MaxMetadataSize
	doc, err := h.up.Metadata(ctx, upstream.MetadataRequest{
		Name: upstreamName(group, artifact), Key: key, Path: "/" + path + "/" + MetadataFile,
		Check: func(body []byte, from core.Upstream) ([]byte, error) {
			m, err := ParseMetadata(bytes.NewReader(body), limit)
			if err != nil {
				return nil, fmt.Errorf("upstream %s: %s/%s: %v", from.Name, path, MetadataFile, err) // not the client's fault
			}
			if !metadataFits(m, dir) {
				return nil, fmt.Errorf("upstream %s: %s/%s names other coordinates", from.Name, path, MetadataFile)
			}
			return body, nil
		},
	})
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s/%s", core.ErrNotFound, path, MetadataFile)
	}
	return doc, err
}

// metadataFits reports whether metadata read from dir's maven-metadata.xml
// describes dir.
func metadataFits(m *Metadata, dir []string) bool {
	n := len(dir)
	switch m.Level() {
	case LevelVersion:
		return n >= 3 && sameGroup(dir[:n-2], m.GroupID) && dir[n-2] == m.ArtifactID && dir[n-1] == m.Version
	case LevelArtifact:
		return n >= 2 && sameGroup(dir[:n-1], m.GroupID) && dir[n-1] == m.ArtifactID
	default:
		return m.GroupID == "" || sameGroup(dir, m.GroupID)
	}
}

// renderedDoc is an upstream document as served, its checksums computed
// from its body; kept in the render cache by its digest.
func (h *Handler) renderedDoc(key string, doc *upstream.Document) *rendered {
	if r, ok := h.cache.get(key, doc.Sum); ok {
		return r
	}
	r := newRendered(doc.Body, doc.Fetched)
	h.cache.put(key, doc.Sum, r)
	return r
}

// mergedMetadata is the artifact-level metadata of a local artifact with
// the upstream's versions added; the local one alone when the upstream has
// none or cannot be asked.
func (h *Handler) mergedMetadata(ctx context.Context, lm localMetadata, dir []string) *rendered {
	doc, err := h.fetchMetadata(ctx, lm.principal, lm.group, lm.artifact, dir)
	if err != nil {
		if !errors.Is(err, core.ErrNotFound) {
			h.log.Warn("maven: upstream versions left out", "artifact", upstreamName(lm.group, lm.artifact), "error", err)
		}
		return lm.r
	}
	key, etag := "merge "+artifactKey(lm.group, lm.artifact), lm.r.sha1+" "+doc.Sum
	if r, ok := h.cache.get(key, etag); ok {
		return r
	}
	limit := h.up.Policy().MaxMetadataSize
	local, err := ParseMetadata(bytes.NewReader(lm.r.body), limit)
	if err != nil {
		return lm.r
	}
	up, err := ParseMetadata(bytes.NewReader(doc.Body), limit)
	if err != nil || up.Level() != LevelArtifact {
		return lm.r
	}
	r, err := renderedFrom(mergeMetadata(local, up), later(lm.r.modified, doc.Fetched))
	if err != nil {
		return lm.r
	}
	h.cache.put(key, etag, r)
	return r
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// mergeMetadata lists the versions of local, then those of up that local
// lacks. lastUpdated, latest and release are those of the one updated
// last (the other's where it has none).
func mergeMetadata(local, up *Metadata) *Metadata {
	lv, uv := cmp.Or(local.Versioning, &Versioning{}), cmp.Or(up.Versioning, &Versioning{})
	newer, older := lv, uv
	if uv.LastUpdated > lv.LastUpdated {
		newer, older = uv, lv
	}
	out := &Metadata{GroupID: local.GroupID, ArtifactID: local.ArtifactID, Versioning: &Versioning{
		Latest: cmp.Or(newer.Latest, older.Latest), Release: cmp.Or(newer.Release, older.Release),
		LastUpdated: cmp.Or(newer.LastUpdated, older.LastUpdated), Versions: &Versions{}}}
	seen := map[string]bool{}
	for _, list := range [][]string{local.VersionList(), up.VersionList()} {
		for _, v := range list {
			if !seen[v] && ValidateVersion(v) == nil {
				seen[v] = true
				out.Versioning.Versions.Version = append(out.Versioning.Versions.Version, v)
			}
		}
	}
	return out
}

// upstreamFile serves a file (or, isSum, its checksum alg) that is not
// held locally, from the upstream cache or the upstreams. The caller may
// read its artifact.
func (h *Handler) upstreamFile(ctx context.Context, req *core.RequestContext, p *core.Principal, c Coordinates, fn FileName, alg string, isSum bool) (*core.Response, error) {
	if IsSnapshot(c.Version) && fn.Build == "" {
		file, err := h.upstreamSnapshotFile(ctx, p, c, fn)
		if err != nil {
			return nil, err
		}
		c.File = file
	}
	if isSum {
		return h.upstreamChecksum(ctx, p, c, alg)
	}
	if req.Method == http.MethodHead {
		if info, err := h.deps.Storage.Stat(ctx, upstreamFileKey(c)); err == nil {
			resp := core.StreamResponse(http.StatusOK, contentType(c.File), nil, info.Size)
			setValidators(resp, "", info.ModTime)
			return resp, nil
		}
	}
	a, err := h.upstreamArtifact(ctx, p, c)
	if err != nil {
		return nil, err
	}
	return core.StreamResponse(http.StatusOK, a.ContentType, a.Body, a.Size), nil
}

// upstreamSnapshotFile resolves a non-unique SNAPSHOT file name to the
// newest timestamped build of its classifier and extension that the
// upstream's version-level metadata lists.
func (h *Handler) upstreamSnapshotFile(ctx context.Context, p *core.Principal, c Coordinates, fn FileName) (string, error) {
	dir := strings.Split(groupPath(c.Group)+"/"+c.Artifact+"/"+c.Version, "/")
	doc, err := h.fetchMetadata(ctx, p, c.Group, c.Artifact, dir)
	if err != nil {
		return "", err
	}
	m, err := ParseMetadata(bytes.NewReader(doc.Body), int64(len(doc.Body)))
	if err != nil || m.Versioning == nil {
		return "", fmt.Errorf("%w: %s", core.ErrNotFound, c.Path())
	}
	var values []string
	if svs := m.Versioning.SnapshotVersions; svs != nil {
		for _, sv := range svs.SnapshotVersion {
			if sv.Classifier == fn.Classifier && sv.Extension == fn.Extension {
				values = append(values, sv.Value)
			}
		}
	}
	if s := m.Versioning.Snapshot; s != nil && s.Timestamp != "" && s.BuildNumber > 0 { // Maven 2 metadata
		values = append(values, fmt.Sprintf("%s-%s-%d", strings.TrimSuffix(c.Version, snapshotSuffix), s.Timestamp, s.BuildNumber))
	}
	for _, v := range values {
		name := c.Artifact + "-" + v
		if fn.Classifier != "" {
			name += "-" + fn.Classifier
		}
		name += "." + fn.Extension
		if f, err := ParseFileName(c.Artifact, c.Version, name); err == nil && f.Build != "" {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: %s (the upstream lists no timestamped build of it)", core.ErrNotFound, c.Path())
}

// upstreamArtifact returns a file held upstream: cached, or streamed from
// the upstream into the cache, checked against the upstream's checksums.
func (h *Handler) upstreamArtifact(ctx context.Context, p *core.Principal, c Coordinates) (*upstream.Artifact, error) {
	name := upstreamName(c.Group, c.Artifact)
	key := upstreamFileKey(c)
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name, Version: c.Version})
	rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindArtifact), key, nil)
	if err == nil {
		return &upstream.Artifact{Body: rc, Size: info.Size, ContentType: contentType(c.File), Cached: true}, nil
	}
	if !errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("read %s: %w", c.Path(), err)
	}
	if err := h.mayFetchNew(ctx, p, c.Group, c.Artifact, ""); err != nil {
		return nil, err
	}
	u, digests, err := h.upstreamDigests(ctx, name, c)
	if err != nil {
		return nil, err
	}
	return h.up.Artifact(ctx, upstream.ArtifactRequest{Name: name, Key: key,
		Path: strings.TrimSuffix(u.URL, "/") + "/" + c.Path(), From: u.Name, StagePrefix: uploadsPrefix,
		Digests: digests, ContentType: contentType(c.File)})
}

// upstreamDigests finds the first upstream of name with a .sha1 for the
// file, and returns it with that digest and its .sha512 (else .sha256)
// when it has one.
func (h *Handler) upstreamDigests(ctx context.Context, name string, c Coordinates) (core.Upstream, []upstream.Digest, error) {
	var last error
	for _, u := range h.up.Upstreams(ctx, name) {
		url := strings.TrimSuffix(u.URL, "/") + "/" + c.Path()
		d, err := h.fetchDigest(ctx, name, url, "sha1")
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err != nil {
			last = err
			continue
		}
		digests := []upstream.Digest{d}
		for _, alg := range []string{"sha512", "sha256"} {
			if d, err := h.fetchDigest(ctx, name, url, alg); err == nil {
				digests = append(digests, d)
				break
			} else if !errors.Is(err, core.ErrNotFound) {
				break // the .sha1 is enough
			}
		}
		return u, digests, nil
	}
	if last != nil {
		return core.Upstream{}, nil, fmt.Errorf("%w: %s: %w", upstream.ErrUnavailable, c.Path(), last)
	}
	return core.Upstream{}, nil, fmt.Errorf("%w: %s", upstream.ErrNotFound, c.Path())
}

// maxChecksumFile bounds an upstream checksum file.
const maxChecksumFile = 4 << 10

// fetchDigest fetches the checksum file alg of the file at url.
func (h *Handler) fetchDigest(ctx context.Context, name, url, alg string) (upstream.Digest, error) {
	resp, err := h.up.Fetch(ctx, name, url+"."+alg, nil)
	if err != nil {
		return upstream.Digest{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxChecksumFile))
	if err != nil {
		return upstream.Digest{}, fmt.Errorf("%w: %s.%s: %w", core.ErrUnavailable, url, alg, err)
	}
	sum, err := parseChecksum(body, alg)
	if err != nil {
		return upstream.Digest{}, fmt.Errorf("%w: %s.%s: %v", core.ErrUnavailable, url, alg, err)
	}
	return upstream.HexDigest(alg, sum)
}

// upstreamChecksum serves a checksum of a file held upstream, computed
// from the bytes served: kept beside the cached file once computed.
func (h *Handler) upstreamChecksum(ctx context.Context, p *core.Principal, c Coordinates, alg string) (*core.Response, error) {
	mctx := core.WithObject(core.WithKind(ctx, core.KindMetadata),
		core.ObjectRef{Package: upstreamName(c.Group, c.Artifact), Version: c.Version})
	var sums fileRecord
	if _, err := core.GetJSON(mctx, h.deps.Storage, upstreamSumsKey(c), &sums); err == nil && sums.checksum(alg) != "" {
		return checksumResponse(sums.checksum(alg)), nil
	}
	a, err := h.upstreamArtifact(ctx, p, c)
	if err != nil {
		return nil, err
	}
	set := digest.NewSet(digest.MD5, digest.SHA1, digest.SHA256, digest.SHA512)
	_, err = io.Copy(set, a.Body)
	a.Body.Close()
	if err != nil {
		return nil, err
	}
	sums = fileRecord{Size: set.Size(), MD5: set.Hex(digest.MD5), SHA1: set.Hex(digest.SHA1),
		SHA256: set.Hex(digest.SHA256), SHA512: set.Hex(digest.SHA512)}
	// Kept only once the file is cached, so that they describe its bytes.
	if _, err := h.deps.Storage.Stat(ctx, upstreamFileKey(c)); err == nil {
		_, _ = core.PutJSON(mctx, h.deps.Storage, upstreamSumsKey(c), sums, core.PutOptions{IfAbsent: true})
	}
	return checksumResponse(sums.checksum(alg)), nil
}
