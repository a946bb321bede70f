package npm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// storedPackument is the document kept at packumentKey(name): everything
// about a package. Version manifests are kept as published (with dist
// completed by the registry); tarball URLs are added when the document is
// served, from the request's base URL.
type storedPackument struct {
	Name string `json:"name"`
	// Seq counts the document's revisions; with RevHash it makes _rev.
	Seq     int64  `json:"seq"`
	RevHash string `json:"revHash"`
	// DistTags maps tag → version.
	DistTags map[string]string `json:"distTags"`
	// Versions maps version → manifest.
	Versions map[string]json.RawMessage `json:"versions"`
	// Added maps version → the Seq of the revision that added it. A write
	// based on an older revision cannot remove versions it never saw.
	Added map[string]int64 `json:"added"`
	// Times maps version → publish time.
	Times    map[string]time.Time `json:"times"`
	Created  time.Time            `json:"created"`
	Modified time.Time            `json:"modified"`
	// Unpublished maps every version ever unpublished → when; such a
	// version can never be published again.
	Unpublished map[string]time.Time `json:"unpublished,omitempty"`
}

// rev renders the CouchDB-style revision, "<seq>-<hash>".
func (d *storedPackument) rev() string { return strconv.FormatInt(d.Seq, 10) + "-" + d.RevHash }

// bump starts a new revision.
func (d *storedPackument) bump(now time.Time) {
	d.Seq++
	var b [8]byte
	_, _ = rand.Read(b[:])
	d.RevHash = hex.EncodeToString(b[:])
	d.Modified = now
}

// init fills the maps of a new or decoded document.
func (d *storedPackument) init(name string, now time.Time) {
	if d.Name == "" {
		d.Name = name
	}
	if d.Created.IsZero() {
		d.Created = now
	}
	if d.DistTags == nil {
		d.DistTags = map[string]string{}
	}
	if d.Versions == nil {
		d.Versions = map[string]json.RawMessage{}
	}
	if d.Added == nil {
		d.Added = map[string]int64{}
	}
	if d.Times == nil {
		d.Times = map[string]time.Time{}
	}
	if d.Unpublished == nil {
		d.Unpublished = map[string]time.Time{}
	}
}

// revSeq returns the Seq of a revision string, or -1 when rev is not one.
func revSeq(rev string) int64 {
	s, _, _ := strings.Cut(rev, "-")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// removeVersion unpublishes one version: the manifest and the tags that
// point at it go, and "latest" moves to the highest version left.
func (d *storedPackument) removeVersion(v string, now time.Time) {
	delete(d.Versions, v)
	delete(d.Added, v)
	delete(d.Times, v)
	d.Unpublished[v] = now
	for tag, tv := range d.DistTags {
		if tv == v {
			delete(d.DistTags, tag)
		}
	}
	d.fixLatest()
}

// fixLatest points "latest" at the highest stable version when it points
// nowhere.
func (d *storedPackument) fixLatest() {
	if _, ok := d.Versions[d.DistTags["latest"]]; ok {
		return
	}
	delete(d.DistTags, "latest")
	if h := highestVersion(slices.Collect(maps.Keys(d.Versions))); h != "" {
		d.DistTags["latest"] = h
	}
}

// highestVersion returns the highest version without a pre-release part, or
// the highest of all when every version is a pre-release.
func highestVersion(versions []string) string {
	best, bestStable := "", ""
	for _, v := range versions {
		if best == "" || compareVersions(v, best) > 0 {
			best = v
		}
		if s, ok := parseVersion(v); ok && len(s.pre) == 0 && (bestStable == "" || compareVersions(v, bestStable) > 0) {
			bestStable = v
		}
	}
	if bestStable != "" {
		return bestStable
	}
	return best
}

// latestManifest returns the manifest "latest" points at, or nil.
func (d *storedPackument) latestManifest() map[string]json.RawMessage {
	raw, ok := d.Versions[d.DistTags["latest"]]
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// manifestInfo is what the registry reads from a version manifest.
type manifestInfo struct {
	Name        string                     `json:"name"`
	Version     string                     `json:"version"`
	Description string                     `json:"description"`
	Keywords    json.RawMessage            `json:"keywords"`
	Scripts     map[string]json.RawMessage `json:"scripts"`
	Dist        struct {
		Shasum    string `json:"shasum"`
		Integrity string `json:"integrity"`
	} `json:"dist"`
}

// keywords returns the manifest's keywords, whether a list or one string.
func (m *manifestInfo) keywords() []string {
	var list []string
	if json.Unmarshal(m.Keywords, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(m.Keywords, &one) == nil && one != "" {
		return strings.Fields(strings.ReplaceAll(one, ",", " "))
	}
	return nil
}

// rootFields are copied from the latest version's manifest to the top of
// the full document, as the public registry does.
var rootFields = []string{"description", "readme", "maintainers", "keywords", "license", "repository",
	"homepage", "author", "bugs"}

// abbreviatedFields are the manifest fields of the abbreviated document
// (Accept: application/vnd.npm.install-v1+json): what installing needs.
var abbreviatedFields = []string{"name", "version", "deprecated", "dependencies", "optionalDependencies",
	"devDependencies", "bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta",
	"bin", "directories", "dist", "engines", "_hasShrinkwrap", "hasInstallScript", "cpu", "os", "libc",
	"funding", "license"}

// renderPackument renders the document as served: full, or abbreviated.
// base is the public URL of the base path, for tarball URLs.
func renderPackument(d *storedPackument, base string, abbreviated bool) ([]byte, error) {
	modified := d.Modified.UTC().Format(time.RFC3339Nano)
	var out map[string]any
	if abbreviated {
		out = map[string]any{"name": d.Name, "modified": modified, "dist-tags": d.DistTags}
	} else {
		times := map[string]string{"created": d.Created.UTC().Format(time.RFC3339Nano), "modified": modified}
		for v, t := range d.Times {
			times[v] = t.UTC().Format(time.RFC3339Nano)
		}
		out = map[string]any{"_id": d.Name, "_rev": d.rev(), "name": d.Name, "dist-tags": d.DistTags, "time": times}
		if latest := d.latestManifest(); latest != nil {
			for _, k := range rootFields {
				if v, ok := latest[k]; ok {
					out[k] = v
				}
			}
		}
	}
	head, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.Name, err)
	}
	// The versions are spliced in as encoded, rather than handed to
	// json.Marshal as raw messages, which would validate them all again.
	buf := bytes.NewBuffer(make([]byte, 0, len(head)+len(d.Versions)*1024))
	buf.Write(head[:len(head)-1])
	buf.WriteString(`,"versions":{`)
	for i, v := range slices.Sorted(maps.Keys(d.Versions)) {
		m, err := servedManifest(d.Name, v, d.Versions[v], base)
		if err != nil {
			return nil, err
		}
		if abbreviated {
			for k := range m {
				if !slices.Contains(abbreviatedFields, k) {
					delete(m, k)
				}
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode %s@%s: %w", d.Name, v, err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		key, _ := json.Marshal(v)
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(b)
	}
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

// servedManifest decodes a stored manifest and points its dist.tarball at
// this registry.
func servedManifest(name, version string, raw json.RawMessage, base string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode stored manifest %s@%s: %w", name, version, err)
	}
	var dist map[string]json.RawMessage
	if err := json.Unmarshal(m["dist"], &dist); err != nil || dist == nil {
		dist = map[string]json.RawMessage{}
	}
	dist["tarball"], _ = json.Marshal(base + tarballPath(name, version))
	m["dist"], _ = json.Marshal(dist)
	return m, nil
}

// decodeBounded decodes a small JSON request body read by readSmallBody.
func decodeBounded(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(core.ErrInvalidArgument, "invalid JSON body: %v", err)
	}
	return nil
}
