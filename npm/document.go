package npm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// packageHead is the small part of a package's document: what does not
// grow with the number of versions.
type packageHead struct {
	Name string `json:"name"`
	// Seq counts the document's revisions; with RevHash it makes _rev.
	Seq     int64  `json:"seq"`
	RevHash string `json:"revHash"`
	// DistTags maps tag → version.
	DistTags map[string]string `json:"distTags"`
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	// Unpublished maps every version ever unpublished → when; such a
	// version can never be published again.
	Unpublished map[string]time.Time `json:"unpublished,omitempty"`
	// Maintainers are the users who may publish (npm owner); the first
	// publisher is the first.
	Maintainers []string `json:"maintainers,omitempty"`
}

// storedPackument is the document kept at packumentKey(name): a head and
// one entry per published version (see versionEntry), in the line format
// of core.EntryDoc, so that a publish copies the versions it does not
// change instead of decoding them.
type storedPackument struct {
	*core.EntryDoc[packageHead]
	// size is the stored document's length, for the cache's budget.
	size int64
}

// versionEntry is one version in the document. Its manifest is kept as
// served, with a single zero byte where the registry's base URL goes in
// dist.tarball (a zero byte is never part of encoded JSON), and with the
// fields of the abbreviated form first, so that the abbreviated manifest
// is a prefix of the full one closed by "}": rendering either document is
// concatenation, and each version is stored once.
type versionEntry struct {
	// Added is the Seq of the revision that added the version: a write
	// based on an older revision cannot remove versions it never saw.
	Added int64
	// Time is the publish time, RFC 3339 in UTC.
	Time string
	// Tarball is the id of the tarball's key (tarballKey).
	Tarball string
	// Integrity is the tarball's sha512, base64.
	Integrity string
	// Full is the full manifest.
	Full []byte
	// AbbrLen is the length of the prefix of Full that, followed by "}",
	// is the abbreviated manifest.
	AbbrLen int
}

// abbreviated returns the abbreviated manifest without its closing "}".
func (e *versionEntry) abbreviated() []byte { return e.Full[:e.AbbrLen] }

// encode renders the entry as stored: five space-separated fields, then
// the manifest.
func (e *versionEntry) encode() []byte {
	var b bytes.Buffer
	b.Grow(len(e.Full) + 128)
	fmt.Fprintf(&b, "%d %s %s %s %d ", e.Added, e.Time, e.Tarball, e.Integrity, e.AbbrLen)
	b.Write(e.Full)
	return b.Bytes()
}

// decodeEntry parses a stored entry; the manifests alias data.
func decodeEntry(data []byte) (versionEntry, error) {
	var e versionEntry
	fields := make([]string, 5)
	rest := data
	for i := range fields {
		f, r, ok := bytes.Cut(rest, []byte{' '})
		if !ok {
			return e, fmt.Errorf("npm: malformed version entry")
		}
		fields[i], rest = string(f), r
	}
	added, err1 := strconv.ParseInt(fields[0], 10, 64)
	n, err2 := strconv.Atoi(fields[4])
	if err1 != nil || err2 != nil || n < 0 || n > len(rest) {
		return e, fmt.Errorf("npm: malformed version entry")
	}
	e.Added, e.Time, e.Tarball, e.Integrity = added, fields[1], fields[2], fields[3]
	e.Full, e.AbbrLen = rest, n
	return e, nil
}

// newEntry builds the entry of a version from its stored manifest.
func newEntry(name, version string, manifest json.RawMessage, added int64, at time.Time, tarball, integrity string) (versionEntry, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(manifest, &m); err != nil {
		return versionEntry{}, fmt.Errorf("npm: decode manifest %s@%s: %w", name, version, err)
	}
	var dist map[string]json.RawMessage
	if json.Unmarshal(m["dist"], &dist) != nil || dist == nil {
		dist = map[string]json.RawMessage{}
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	marker := "base-" + hex.EncodeToString(nonce[:])
	dist["tarball"], _ = json.Marshal(marker + tarballPath(name, version))
	m["dist"], _ = json.Marshal(dist)
	rest := map[string]json.RawMessage{}
	for k, v := range m {
		if !isAbbreviatedField(k) {
			rest[k] = v
			delete(m, k)
		}
	}
	abbr, err := withBaseSlot(m, marker)
	if err != nil {
		return versionEntry{}, fmt.Errorf("npm: encode manifest %s@%s: %w", name, version, err)
	}
	full := abbr
	if len(rest) > 0 {
		tail, err := json.Marshal(rest)
		if err != nil {
			return versionEntry{}, fmt.Errorf("npm: encode manifest %s@%s: %w", name, version, err)
		}
		full = append(append(abbr[:len(abbr)-1:len(abbr)-1], ','), tail[1:]...)
	}
	return versionEntry{Added: added, Time: at.UTC().Format(time.RFC3339Nano), Tarball: tarball,
		Integrity: integrity, Full: full, AbbrLen: len(abbr) - 1}, nil
}

// withBaseSlot encodes m and turns the one occurrence of marker (random,
// so no client can have written it) into the zero byte of the base URL.
func withBaseSlot(m map[string]json.RawMessage, marker string) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		return nil, fmt.Errorf("the tarball URL slot is missing")
	}
	return append(b[:i:i], append([]byte{0}, b[i+len(marker):]...)...), nil
}

// withBase returns a served manifest with base in place of its zero byte.
func withBase(manifest []byte, base string) []byte {
	i := bytes.IndexByte(manifest, 0)
	if i < 0 {
		return manifest
	}
	esc := jsonStringBody(base)
	out := make([]byte, 0, len(manifest)+len(esc))
	out = append(out, manifest[:i]...)
	out = append(out, esc...)
	return append(out, manifest[i+1:]...)
}

// jsonStringBody is s encoded as a JSON string, without the quotes.
func jsonStringBody(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func isAbbreviatedField(k string) bool {
	for _, f := range abbreviatedFields {
		if f == k {
			return true
		}
	}
	return false
}

// newPackument returns an empty document for name.
func newPackument(name string) *storedPackument {
	d := &storedPackument{EntryDoc: &core.EntryDoc[packageHead]{}}
	d.init(name, time.Time{})
	return d
}

// rev renders the CouchDB-style revision, "<seq>-<hash>".
func (d *storedPackument) rev() string {
	return strconv.FormatInt(d.Head.Seq, 10) + "-" + d.Head.RevHash
}

// bump starts a new revision.
func (d *storedPackument) bump(now time.Time) {
	d.Head.Seq++
	var b [8]byte
	_, _ = rand.Read(b[:])
	d.Head.RevHash = hex.EncodeToString(b[:])
	d.Head.Modified = now
}

// init fills the maps of a new or decoded document.
func (d *storedPackument) init(name string, now time.Time) {
	h := &d.Head
	if h.Name == "" {
		h.Name = name
	}
	if h.Created.IsZero() {
		h.Created = now
	}
	if h.DistTags == nil {
		h.DistTags = map[string]string{}
	}
	if h.Unpublished == nil {
		h.Unpublished = map[string]time.Time{}
	}
}

// version returns the entry of a published version.
func (d *storedPackument) version(v string) (versionEntry, bool) {
	data, ok := d.Get(v)
	if !ok {
		return versionEntry{}, false
	}
	e, err := decodeEntry(data)
	return e, err == nil
}

// hasVersion reports whether v is published.
func (d *storedPackument) hasVersion(v string) bool {
	_, ok := d.Get(v)
	return ok
}

// setVersion stores a version's entry.
func (d *storedPackument) setVersion(v string, e versionEntry) error {
	return d.Set(v, e.encode())
}

// versionNames lists the published versions in publish order.
func (d *storedPackument) versionNames() []string {
	names := make([]string, 0, d.Len())
	for v := range d.All() {
		names = append(names, v)
	}
	return names
}

// removeVersion unpublishes one version: the entry and the tags that
// point at it go, and "latest" moves to the highest version left.
func (d *storedPackument) removeVersion(v string, now time.Time) {
	d.Delete(v)
	d.Head.Unpublished[v] = now
	for tag, tv := range d.Head.DistTags {
		if tv == v {
			delete(d.Head.DistTags, tag)
		}
	}
	d.fixLatest()
}

// fixLatest points "latest" at the highest stable version when it points
// nowhere.
func (d *storedPackument) fixLatest() {
	if d.hasVersion(d.Head.DistTags["latest"]) {
		return
	}
	delete(d.Head.DistTags, "latest")
	if h := highestVersion(d.versionNames()); h != "" {
		d.Head.DistTags["latest"] = h
	}
}

// refuseVersion refuses a version that is or was published.
func (d *storedPackument) refuseVersion(version string) error {
	if d.hasVersion(version) {
		return publishOverError(version)
	}
	if _, ok := d.Head.Unpublished[version]; ok {
		return publishUnpublishedError(d.Head.Name, version)
	}
	return nil
}

// latestManifest returns the decoded full manifest "latest" points at
// (its tarball URL without the base), or nil.
func (d *storedPackument) latestManifest() map[string]json.RawMessage {
	e, ok := d.version(d.Head.DistTags["latest"])
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(withBase(e.Full, ""), &m) != nil {
		return nil
	}
	return m
}

// encodeVersionKey writes a version as a JSON object key. Versions are
// validated semver ([0-9A-Za-z.+-]), which needs no escaping.
func encodeVersionKey(buf *bytes.Buffer, v string) {
	if strings.ContainsAny(v, "\"\\") {
		b, _ := json.Marshal(v)
		buf.Write(b)
	} else {
		buf.WriteByte('"')
		buf.WriteString(v)
		buf.WriteByte('"')
	}
	buf.WriteByte(':')
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
