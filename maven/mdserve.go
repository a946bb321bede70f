package maven

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/reqbody"
)

// rendered is a maven-metadata.xml as served. Its SHA-1 (the ETag) is
// computed with it, the other checksums when first asked for.
type rendered struct {
	body     []byte
	sha1     string
	modified time.Time

	once sync.Once
	sums map[string]string
}

func newRendered(b []byte, modified time.Time) *rendered {
	s1 := sha1.Sum(b)
	return &rendered{body: b, sha1: hex.EncodeToString(s1[:]), modified: modified}
}

func renderedFrom(m *Metadata, modified time.Time) (*rendered, error) {
	b, err := m.render()
	if err != nil {
		return nil, err
	}
	return newRendered(b, modified), nil
}

// checksum returns the hex digest of alg.
func (r *rendered) checksum(alg string) string {
	if alg == "sha1" {
		return r.sha1
	}
	r.once.Do(func() {
		m5, s256, s512 := md5.Sum(r.body), sha256.Sum256(r.body), sha512.Sum512(r.body)
		r.sums = map[string]string{"md5": hex.EncodeToString(m5[:]), "sha256": hex.EncodeToString(s256[:]),
			"sha512": hex.EncodeToString(s512[:])}
	})
	return r.sums[alg]
}

// renderCache keeps rendered metadata, each valid for one ETag of the
// document it was rendered from, so that a cached rendering is never
// stale. When full, an arbitrary entry goes.
type renderCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cacheEntry
}

type cacheEntry struct {
	etag string
	r    *rendered
}

func newRenderCache(n int) *renderCache {
	return &renderCache{max: n, entries: map[string]cacheEntry{}}
}

func (c *renderCache) get(key, etag string) (*rendered, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.r, ok && e.etag == etag && etag != ""
}

func (c *renderCache) put(key, etag string, r *rendered) {
	if c.max <= 0 || etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = cacheEntry{etag: etag, r: r}
}

// cachedRender returns the rendering of the document at key: from the
// cache when the stored document still has the ETag it was rendered
// from (one stat), else rendered anew by render, which returns the ETag
// of the document it read.
func (h *Handler) cachedRender(ctx context.Context, key string, render func(ctx context.Context) (*rendered, string, error)) (*rendered, error) {
	info, err := h.deps.Storage.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if r, ok := h.cache.get(key, info.ETag); ok {
		return r, nil
	}
	r, etag, err := render(ctx)
	if err != nil {
		return nil, err
	}
	h.cache.put(key, etag, r)
	return r, nil
}

// errNoVersions: the artifact document exists but lists no version.
var errNoVersions = fmt.Errorf("%w: the artifact has no versions", core.ErrNotFound)

// renderArtifact renders artifact-level metadata from the artifact
// document: its versions in the order they were first deployed.
func (h *Handler) renderArtifact(ctx context.Context, group, artifact string) (*rendered, error) {
	return h.cachedRender(ctx, artifactKey(group, artifact), func(ctx context.Context) (*rendered, string, error) {
		ed, info, err := core.GetEntryDoc[artifactHead](ctx, h.deps.Storage, artifactKey(group, artifact))
		if err != nil {
			return nil, "", err
		}
		if ed.Len() == 0 {
			return nil, "", fmt.Errorf("%w: %s:%s", errNoVersions, group, artifact)
		}
		return newRendered(renderArtifactXML(ed), ed.Head.LastUpdated), info.ETag, nil
	})
}

// renderArtifactXML writes artifact-level metadata as Metadata.render
// would, without reflection: it is rendered again after every new
// version, and its size grows with the versions.
func renderArtifactXML(ed *core.EntryDoc[artifactHead]) []byte {
	var b bytes.Buffer
	b.Grow(256 + ed.Len()*32)
	elem := func(indent, name, value string) {
		if value == "" {
			return
		}
		b.WriteString(indent)
		b.WriteByte('<')
		b.WriteString(name)
		b.WriteByte('>')
		if strings.ContainsAny(value, "<>&'\"\t\n\r") {
			_ = xml.EscapeText(&b, []byte(value))
		} else {
			b.WriteString(value)
		}
		b.WriteString("</")
		b.WriteString(name)
		b.WriteString(">\n")
	}
	b.WriteString(xml.Header)
	b.WriteString("<metadata>\n")
	elem("  ", "groupId", ed.Head.Group)
	elem("  ", "artifactId", ed.Head.Artifact)
	b.WriteString("  <versioning>\n")
	elem("    ", "latest", ed.Head.Latest)
	elem("    ", "release", ed.Head.Release)
	b.WriteString("    <versions>\n")
	for v := range ed.All() {
		elem("      ", "version", v)
	}
	b.WriteString("    </versions>\n")
	elem("    ", "lastUpdated", ed.Head.LastUpdated.UTC().Format(lastUpdatedLayout))
	b.WriteString("  </versioning>\n</metadata>\n")
	return b.Bytes()
}

// renderVersion renders SNAPSHOT version-level metadata from the version
// document: the newest timestamped build, and the newest file of each
// classifier and extension.
func (h *Handler) renderVersion(ctx context.Context, group, artifact, version string) (*rendered, error) {
	key := versionKey(group, artifact, version)
	return h.cachedRender(ctx, key, func(ctx context.Context) (*rendered, string, error) {
		ed, info, err := core.GetEntryDoc[versionHead](ctx, h.deps.Storage, key)
		if err != nil {
			return nil, "", err
		}
		if ed.Len() == 0 {
			return nil, "", fmt.Errorf("%w: %s:%s:%s has no files", core.ErrNotFound, group, artifact, version)
		}
		v, err := snapshotVersioning(ed, Coordinates{Group: group, Artifact: artifact, Version: version})
		if err != nil {
			return nil, "", err
		}
		m := &Metadata{ModelVersion: "1.1.0", GroupID: group, ArtifactID: artifact, Version: version, Versioning: v}
		r, err := renderedFrom(m, ed.Head.LastUpdated)
		return r, info.ETag, err
	})
}

// snapshotVersioning derives a SNAPSHOT's <versioning> from its files.
func snapshotVersioning(ed *core.EntryDoc[versionHead], c Coordinates) (*Versioning, error) {
	type newest struct {
		sv    SnapshotVersion
		build string
	}
	var order []string
	byKind := map[string]newest{}
	latest := ""
	for name, data := range ed.All() {
		fn, err := ParseFileName(c.Artifact, c.Version, name)
		if err != nil {
			continue
		}
		var f fileRecord
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("file %s: %w", name, err)
		}
		value := c.Version
		if fn.Build != "" {
			value = strings.TrimSuffix(c.Version, snapshotSuffix) + "-" + fn.Build
			if latest == "" || compareBuilds(fn.Build, latest) > 0 {
				latest = fn.Build
			}
		}
		kind := fn.Classifier + "\x00" + fn.Extension
		cur, seen := byKind[kind]
		if !seen {
			order = append(order, kind)
		}
		// A timestamped build beats a non-unique file; a newer build an
		// older one.
		if !seen || (fn.Build != "" && (cur.build == "" || compareBuilds(fn.Build, cur.build) > 0)) {
			byKind[kind] = newest{build: fn.Build, sv: SnapshotVersion{Classifier: fn.Classifier, Extension: fn.Extension,
				Value: value, Updated: f.Uploaded.UTC().Format(lastUpdatedLayout)}}
		}
	}
	v := &Versioning{LastUpdated: ed.Head.LastUpdated.UTC().Format(lastUpdatedLayout), SnapshotVersions: &SnapshotVersions{}}
	if latest != "" {
		stamp, _, _ := strings.Cut(latest, "-")
		v.Snapshot = &Snapshot{Timestamp: stamp, BuildNumber: BuildNumber(latest)}
	} else {
		v.Snapshot = &Snapshot{LocalCopy: true}
	}
	for _, k := range order {
		v.SnapshotVersions.SnapshotVersion = append(v.SnapshotVersions.SnapshotVersion, byKind[k].sv)
	}
	return v, nil
}

// renderGroup renders group-level metadata: the group's plugins.
func (h *Handler) renderGroup(ctx context.Context, group string) (*rendered, error) {
	key := groupKey(group)
	return h.cachedRender(ctx, key, func(ctx context.Context) (*rendered, string, error) {
		var doc groupDoc
		etag, err := core.GetJSON(ctx, h.deps.Storage, key, &doc)
		if err != nil {
			return nil, "", err
		}
		if len(doc.Plugins) == 0 {
			return nil, "", fmt.Errorf("%w: group %s has no plugins", core.ErrNotFound, group)
		}
		r, err := renderedFrom(&Metadata{Plugins: &Plugins{Plugin: doc.Plugins}}, time.Time{})
		return r, etag, err
	})
}

// localMetadata is the local metadata a directory's maven-metadata.xml
// is, and who asked for it.
type localMetadata struct {
	r *rendered
	// level, group and artifact say which metadata it is (artifact "*" at
	// group level).
	level           Level
	group, artifact string
	// principal is the caller, nil when anonymous.
	principal *core.Principal
	// local is set when nothing was found but the document of the artifact
	// the directory would be exists (localArtifact without a second look).
	local bool
}

// metadataAt finds the metadata a directory's maven-metadata.xml is: the
// SNAPSHOT version level when the directory is a SNAPSHOT version with
// files, else the artifact level when it is an artifact with versions,
// else the group level when it is a group with plugins. The caller must
// be allowed to read what it is asked for; a caller whose credentials are
// wrong is refused even where there is nothing. When nothing is found the
// error is core.ErrNotFound and the result still names the caller.
func (h *Handler) metadataAt(ctx context.Context, req *core.RequestContext, dir []string) (localMetadata, error) {
	n := len(dir)
	ctx = core.WithKind(ctx, core.KindMetadata)
	p, err := h.identify(ctx, req)
	if err != nil {
		return localMetadata{}, err
	}
	type candidate struct {
		level           Level
		group, artifact string
		render          func() (*rendered, error)
	}
	var cands []candidate
	if n >= 3 && IsSnapshot(dir[n-1]) {
		g, err := joinGroup(dir[:n-2])
		c := Coordinates{Group: g, Artifact: dir[n-2], Version: dir[n-1]}
		if err == nil && c.validate() == nil {
			cands = append(cands, candidate{LevelVersion, c.Group, c.Artifact, func() (*rendered, error) {
				return h.renderVersion(ctx, c.Group, c.Artifact, c.Version)
			}})
		}
	}
	if n >= 2 {
		g, err := joinGroup(dir[:n-1])
		a := dir[n-1]
		if err == nil && ValidateID("artifactId", a) == nil {
			cands = append(cands, candidate{LevelArtifact, g, a, func() (*rendered, error) { return h.renderArtifact(ctx, g, a) }})
		}
	}
	if g, err := joinGroup(dir); err == nil {
		cands = append(cands, candidate{LevelGroup, g, "*", func() (*rendered, error) { return h.renderGroup(ctx, g) }})
	}
	// The first candidate that exists answers; the caller must be allowed
	// to read it (group metadata: every artifact of the group).
	local := false
	for _, c := range cands {
		r, err := c.render()
		if errors.Is(err, core.ErrNotFound) {
			local = local || (c.level == LevelArtifact && errors.Is(err, errNoVersions))
			continue
		}
		if err != nil {
			return localMetadata{}, err
		}
		if err := h.deps.Auth.Authorize(ctx, p, ArtifactScope(c.group, c.artifact, core.ActionRead)); err != nil {
			return localMetadata{}, err
		}
		return localMetadata{r: r, level: c.level, group: c.group, artifact: c.artifact, principal: p}, nil
	}
	return localMetadata{principal: p, local: local}, fmt.Errorf("%w: %s/%s", core.ErrNotFound, strings.Join(dir, "/"), MetadataFile)
}

// putMetadata merges an uploaded maven-metadata.xml into the server's own
// metadata, never storing it as sent: at artifact level, a version it
// lists joins the artifact document only if the version has deployed
// files; at group level, a plugin joins the group document only if the
// artifact exists and the caller may write it; at version level the
// server derives everything from the deployed files. Its coordinates must
// be those of the path; a document over MaxMetadataSize, or not XML, is
// refused.
func (h *Handler) putMetadata(ctx context.Context, principal *core.Principal, dir []string, body io.Reader) (*core.Response, error) {
	m, err := ParseMetadata(body, h.cfg.MaxMetadataSize)
	if err != nil {
		return nil, reqbody.ReadError(err)
	}
	n := len(dir)
	mismatch := func(what string) error {
		return fmt.Errorf("%w: the uploaded maven-metadata.xml names %s, which is not where it was uploaded to (%s)",
			core.ErrInvalidArgument, what, strings.Join(dir, "/"))
	}
	ctx = core.WithKind(ctx, core.KindMetadata)
	switch m.Level() {
	case LevelVersion:
		c := Coordinates{Group: m.GroupID, Artifact: m.ArtifactID, Version: m.Version}
		if n < 3 || !sameGroup(dir[:n-2], c.Group) || dir[n-2] != c.Artifact || dir[n-1] != c.Version {
			return nil, mismatch(c.Group + ":" + c.Artifact + ":" + c.Version)
		}
		if err := c.validate(); err != nil {
			return nil, err
		}
		if err := h.deps.Auth.Authorize(ctx, principal, ArtifactScope(c.Group, c.Artifact, core.ActionWrite)); err != nil {
			return nil, err
		}
		return created(), nil
	case LevelArtifact:
		g, a := m.GroupID, m.ArtifactID
		if n < 2 || !sameGroup(dir[:n-1], g) || dir[n-1] != a {
			return nil, mismatch(g + ":" + a)
		}
		if err := ValidateGroup(g); err != nil {
			return nil, err
		}
		if err := ValidateID("artifactId", a); err != nil {
			return nil, err
		}
		if err := h.deps.Auth.Authorize(ctx, principal, ArtifactScope(g, a, core.ActionWrite)); err != nil {
			return nil, err
		}
		if err := h.mergeVersions(core.WithObject(ctx, core.ObjectRef{Package: g + ":" + a}), g, a, m.VersionList()); err != nil {
			return nil, err
		}
		return created(), nil
	default:
		g, err := joinGroup(dir)
		if err != nil {
			return nil, err
		}
		if m.GroupID != "" && m.GroupID != g {
			return nil, mismatch(m.GroupID)
		}
		if err := h.mergePlugins(ctx, principal, g, m.Plugins.Plugin); err != nil {
			return nil, err
		}
		return created(), nil
	}
}

// sameGroup reports whether the group directories of a path spell group.
func sameGroup(segs []string, group string) bool {
	g, err := joinGroup(segs)
	return err == nil && g == group
}

// maxMergeLookups bounds how many versions of an uploaded metadata the
// artifact document does not list are looked up (one storage read each):
// a client lists the versions it read from us and the one it deployed, so
// more than a few unknown ones is not a deploy but a cost to refuse.
const maxMergeLookups = 16

// mergeVersions lists the versions an uploaded artifact-level metadata
// names that have deployed files and are not listed yet (a deploy whose
// second update a crash cut short). Versions past the first
// maxMergeLookups unknown ones are ignored.
func (h *Handler) mergeVersions(ctx context.Context, group, artifact string, versions []string) error {
	lookups := 0
	ed, _, err := core.GetEntryDoc[artifactHead](ctx, h.deps.Storage, artifactKey(group, artifact))
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return err
	}
	for _, v := range versions {
		if ValidateVersion(v) != nil {
			return fmt.Errorf("%w: the uploaded maven-metadata.xml lists invalid version %.100q", core.ErrInvalidArgument, v)
		}
		if ed != nil {
			if _, ok := ed.Get(v); ok {
				continue
			}
		}
		if lookups++; lookups > maxMergeLookups {
			continue
		}
		ok, err := h.hasFiles(ctx, group, artifact, v)
		if err != nil {
			return err
		}
		if ok {
			if err := h.addVersion(ctx, group, artifact, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergePlugins records the plugin prefixes of an uploaded group-level
// metadata, for artifacts that exist and the caller may write.
func (h *Handler) mergePlugins(ctx context.Context, principal *core.Principal, group string, plugins []Plugin) error {
	var add []Plugin
	for _, p := range plugins {
		if ValidateID("artifactId", p.ArtifactID) != nil || ValidateID("prefix", p.Prefix) != nil || len(p.Name) > 1000 {
			return fmt.Errorf("%w: the uploaded maven-metadata.xml lists an invalid plugin", core.ErrInvalidArgument)
		}
		if err := h.deps.Auth.Authorize(ctx, principal, ArtifactScope(group, p.ArtifactID, core.ActionWrite)); err != nil {
			return err
		}
		if _, err := h.deps.Storage.Stat(ctx, artifactKey(group, p.ArtifactID)); errors.Is(err, core.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		add = append(add, p)
	}
	return h.addPlugins(ctx, group, add)
}

// addPlugins lists plugins in the group document, replacing the entries
// of the same artifacts.
func (h *Handler) addPlugins(ctx context.Context, group string, add []Plugin) error {
	if len(add) == 0 {
		return nil
	}
	_, err := core.UpdateJSON(ctx, h.deps.Storage, groupKey(group), func(doc *groupDoc, _ bool) error {
		doc.Group = group
		changed := false
		for _, p := range add {
			i := slices.IndexFunc(doc.Plugins, func(q Plugin) bool { return q.ArtifactID == p.ArtifactID })
			switch {
			case i < 0:
				doc.Plugins = append(doc.Plugins, p)
				changed = true
			case doc.Plugins[i] != p:
				doc.Plugins[i] = p
				changed = true
			}
		}
		if !changed {
			return core.ErrNoChange
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list plugins of group %s: %w", group, err)
	}
	return nil
}
