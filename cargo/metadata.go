package cargo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// MaxNameLength is the longest crate name accepted, as on crates.io.
const MaxNameLength = 64

// Bounds of the publish metadata, so that one publish cannot make the
// index line (and every later read of the crate's index) arbitrarily large.
const (
	maxDeps          = 1024
	maxFeatures      = 1024
	maxFeatureValues = 1024
	maxStringField   = 1024
)

// ValidateName checks a crate name: 1 to 64 ASCII letters, digits, "-" and
// "_", starting with a letter. Names with "/", "..", spaces or non-ASCII
// characters are refused as ErrInvalidArgument.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLength {
		return fmt.Errorf("%w: crate name %.80q must be 1 to %d characters", core.ErrInvalidArgument, name, MaxNameLength)
	}
	if c := name[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return fmt.Errorf("%w: crate name %q must start with an ASCII letter", core.ErrInvalidArgument, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: crate name %q may only hold ASCII letters, digits, '-' and '_'", core.ErrInvalidArgument, name)
		}
	}
	return nil
}

// NormalizeName returns the form under which a crate is stored: lower case,
// "_" as "-". Two names with the same normalized form are one crate.
func NormalizeName(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// IndexPath returns the path of a crate's file in the sparse index,
// relative to the index root: "1/a", "2/ab", "3/a/abc", "ab/cd/abcd…", all
// lower case.
func IndexPath(name string) string {
	n := strings.ToLower(name)
	switch len(n) {
	case 0:
		return ""
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	default:
		return n[:2] + "/" + n[2:4] + "/" + n
	}
}

// Version is a parsed semantic version (https://semver.org).
type Version struct {
	// Major, Minor and Patch are the three numbers.
	Major, Minor, Patch uint64
	// Pre is the pre-release part without its "-", Build the build
	// metadata without its "+"; either may be empty.
	Pre, Build string
}

// maxVersionLength bounds a version string.
const maxVersionLength = 128

// ParseVersion parses a semantic version as Cargo requires for a crate
// version: MAJOR.MINOR.PATCH, an optional pre-release and build metadata,
// no leading zeros.
func ParseVersion(s string) (Version, error) {
	bad := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("%w: version %.80q is not a semantic version: %s", core.ErrInvalidArgument, s, why)
	}
	if s == "" || len(s) > maxVersionLength {
		return bad("empty or too long")
	}
	var v Version
	rest := s
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		rest, v.Build = rest[:i], rest[i+1:]
		if !validIdentifiers(v.Build, false) {
			return bad("bad build metadata")
		}
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		rest, v.Pre = rest[:i], rest[i+1:]
		if !validIdentifiers(v.Pre, true) {
			return bad("bad pre-release")
		}
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return bad("want MAJOR.MINOR.PATCH")
	}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if !isNumeric(p) || (len(p) > 1 && p[0] == '0') {
			return bad("bad number " + strconv.Quote(p))
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return bad("number out of range")
		}
		*nums[i] = n
	}
	return v, nil
}

// validIdentifiers checks dot-separated identifiers of [0-9A-Za-z-]; in a
// pre-release, numeric ones have no leading zero.
func validIdentifiers(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
		if pre && isNumeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the version.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// withoutBuild is the version without build metadata: versions that
// differ only there are one version to Cargo.
func (v Version) withoutBuild() string {
	v.Build = ""
	return v.String()
}

// Compare orders versions by semver precedence (build metadata ignored).
func (v Version) Compare(o Version) int {
	for _, c := range [...][2]uint64{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre == o.Pre:
		return 0
	case v.Pre == "":
		return 1
	case o.Pre == "":
		return -1
	}
	a, b := strings.Split(v.Pre, "."), strings.Split(o.Pre, ".")
	for i := 0; i < len(a) && i < len(b); i++ {
		an, bn := isNumeric(a[i]), isNumeric(b[i])
		switch {
		case an && bn:
			x, _ := strconv.ParseUint(a[i], 10, 64)
			y, _ := strconv.ParseUint(b[i], 10, 64)
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		case an != bn:
			if an {
				return -1
			}
			return 1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// PublishMetadata is the JSON part of a publish request
// (https://doc.rust-lang.org/cargo/reference/registry-web-api.html#publish).
// Only what the index and the search need is kept.
type PublishMetadata struct {
	// Name is the crate's name, Vers its version.
	Name string `json:"name"`
	Vers string `json:"vers"`
	// Deps are its dependencies, of every kind.
	Deps []PublishDep `json:"deps"`
	// Features maps each feature to what it enables.
	Features map[string][]string `json:"features"`
	// Description is shown by cargo search.
	Description *string `json:"description"`
	// Links is the native library the crate links, RustVersion its
	// minimum supported Rust version.
	Links       *string `json:"links"`
	RustVersion *string `json:"rust_version"`
}

// PublishDep is a dependency as cargo publishes it. Name is the crate
// depended on; ExplicitNameInToml, when set, is the name it is renamed to.
type PublishDep struct {
	// Name is the crate depended on.
	Name string `json:"name"`
	// VersionReq is the version requirement, such as "^1.0".
	VersionReq string `json:"version_req"`
	// Features are the dependency's features enabled.
	Features []string `json:"features"`
	// Optional makes it an optional dependency (a feature enables it).
	Optional bool `json:"optional"`
	// DefaultFeatures enables the dependency's default features.
	DefaultFeatures bool `json:"default_features"`
	// Target is the platform it is for, such as "cfg(unix)"; nil for all.
	Target *string `json:"target"`
	// Kind is "normal", "dev" or "build".
	Kind string `json:"kind"`
	// Registry is the index URL of the registry it comes from; nil for
	// this registry.
	Registry *string `json:"registry"`
	// ExplicitNameInToml is the name the dependency is renamed to.
	ExplicitNameInToml *string `json:"explicit_name_in_toml"`
}

// IndexEntry is one line of a crate's file in the sparse index
// (https://doc.rust-lang.org/cargo/reference/registry-index.html#json-schema).
type IndexEntry struct {
	// Name and Vers name the crate version.
	Name string `json:"name"`
	Vers string `json:"vers"`
	// Deps are its dependencies.
	Deps []IndexDep `json:"deps"`
	// Cksum is the sha256 of the .crate, in hex.
	Cksum string `json:"cksum"`
	// Features are the features cargo 1.19 and later can read.
	Features map[string][]string `json:"features"`
	// Features2 holds the features that use "dep:" or "?/" syntax, which
	// cargo older than 1.60 cannot read; V is 2 when it is set.
	Features2 map[string][]string `json:"features2,omitempty"`
	// Yanked hides the version from new resolutions.
	Yanked bool `json:"yanked"`
	// Links is the native library the crate links.
	Links *string `json:"links,omitempty"`
	// V is the schema version of the line: 2 with Features2, else absent.
	V int `json:"v,omitempty"`
	// RustVersion is the minimum supported Rust version.
	RustVersion *string `json:"rust_version,omitempty"`
	// Pubtime is when the version was published, UTC, as
	// 2006-01-02T15:04:05Z (what cargo parses; it ignores other forms).
	Pubtime string `json:"pubtime,omitempty"`
}

// PubtimeLayout is the time layout of IndexEntry.Pubtime.
const PubtimeLayout = "2006-01-02T15:04:05Z"

// IndexDep is a dependency in an index line. Name is the name the
// dependent crate uses; Package, for a renamed dependency, the crate's
// real name; Registry, for a dependency from another registry (crates.io
// included), that registry's index URL.
type IndexDep struct {
	// Name is the name the dependent crate uses for the dependency.
	Name string `json:"name"`
	// Req is the version requirement.
	Req string `json:"req"`
	// Features, Optional, DefaultFeatures, Target and Kind are as in
	// [PublishDep].
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"`
	// Registry is the index URL of another registry; absent for this one.
	Registry *string `json:"registry,omitempty"`
	// Package is the crate's real name when Name renames it.
	Package *string `json:"package,omitempty"`
}

// ReadPublishMetadata reads the start of a publish body: a little-endian
// uint32 length and that many bytes of JSON, at most maxJSON. A body that
// ends early is ErrInvalidArgument; a length over maxJSON ErrTooLarge.
func ReadPublishMetadata(r io.Reader, maxJSON int64) (*PublishMetadata, error) {
	n, err := readLength(r, "metadata length")
	if err != nil {
		return nil, err
	}
	if int64(n) > maxJSON {
		return nil, fmt.Errorf("%w: the publish metadata is %d bytes, over the limit of %d", core.ErrTooLarge, n, maxJSON)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, truncated(err, fmt.Sprintf("the body ends inside the %d bytes of metadata JSON it announces", n))
	}
	return ParsePublishMetadata(buf)
}

// readLength reads a little-endian uint32.
func readLength(r io.Reader, what string) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, truncated(err, "the body ends before the "+what)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// truncated turns an early end of the body into ErrInvalidArgument and
// keeps other errors (a body over the size limit, a broken connection).
func truncated(err error, msg string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated publish request: %s", core.ErrInvalidArgument, msg)
	}
	return err
}

// ParsePublishMetadata decodes and checks the JSON metadata of a publish:
// the name's grammar, a semantic version, and bounds on every list.
func ParsePublishMetadata(b []byte) (*PublishMetadata, error) {
	var m PublishMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: the publish metadata is not valid JSON: %v", core.ErrInvalidArgument, err)
	}
	if err := ValidateName(m.Name); err != nil {
		return nil, err
	}
	if _, err := ParseVersion(m.Vers); err != nil {
		return nil, err
	}
	if len(m.Deps) > maxDeps {
		return nil, fmt.Errorf("%w: more than %d dependencies", core.ErrInvalidArgument, maxDeps)
	}
	for _, d := range m.Deps {
		if err := d.check(); err != nil {
			return nil, err
		}
	}
	if len(m.Features) > maxFeatures {
		return nil, fmt.Errorf("%w: more than %d features", core.ErrInvalidArgument, maxFeatures)
	}
	for k, vs := range m.Features {
		if k == "" || len(k) > maxStringField || len(vs) > maxFeatureValues {
			return nil, fmt.Errorf("%w: feature %.80q is empty or too large", core.ErrInvalidArgument, k)
		}
	}
	for what, s := range map[string]*string{"links": m.Links, "rust_version": m.RustVersion} {
		if s != nil && len(*s) > maxStringField {
			return nil, fmt.Errorf("%w: %s is over %d bytes", core.ErrInvalidArgument, what, maxStringField)
		}
	}
	return &m, nil
}

func (d PublishDep) check() error {
	if err := ValidateName(d.Name); err != nil {
		return fmt.Errorf("dependency: %w", err)
	}
	if d.ExplicitNameInToml != nil {
		if err := ValidateName(*d.ExplicitNameInToml); err != nil {
			return fmt.Errorf("dependency %s renamed: %w", d.Name, err)
		}
	}
	if d.VersionReq == "" || len(d.VersionReq) > maxStringField {
		return fmt.Errorf("%w: dependency %s has no or too long a version requirement", core.ErrInvalidArgument, d.Name)
	}
	switch d.Kind {
	case "", "normal", "dev", "build":
	default:
		return fmt.Errorf("%w: dependency %s has unknown kind %.40q", core.ErrInvalidArgument, d.Name, d.Kind)
	}
	if len(d.Features) > maxFeatureValues {
		return fmt.Errorf("%w: dependency %s enables more than %d features", core.ErrInvalidArgument, d.Name, maxFeatureValues)
	}
	for _, s := range []*string{d.Target, d.Registry} {
		if s != nil && len(*s) > maxStringField {
			return fmt.Errorf("%w: dependency %s has a field over %d bytes", core.ErrInvalidArgument, d.Name, maxStringField)
		}
	}
	return nil
}

// IndexEntryFor builds the index line of a published version with the
// sha256 of its .crate: renamed dependencies get "package", features with
// "dep:" or "?/" syntax move to features2 (and the line to v 2).
func IndexEntryFor(m *PublishMetadata, cksum string) IndexEntry {
	e := IndexEntry{Name: m.Name, Vers: m.Vers, Deps: make([]IndexDep, 0, len(m.Deps)), Cksum: cksum,
		Features: map[string][]string{}, Links: m.Links, RustVersion: m.RustVersion}
	for _, d := range m.Deps {
		kind := d.Kind
		if kind == "" {
			kind = "normal"
		}
		features := d.Features
		if features == nil {
			features = []string{}
		}
		id := IndexDep{Name: d.Name, Req: d.VersionReq, Features: features, Optional: d.Optional,
			DefaultFeatures: d.DefaultFeatures, Target: d.Target, Kind: kind, Registry: d.Registry}
		if d.ExplicitNameInToml != nil && *d.ExplicitNameInToml != d.Name {
			pkg := d.Name
			id.Name, id.Package = *d.ExplicitNameInToml, &pkg
		}
		e.Deps = append(e.Deps, id)
	}
	for k, vs := range m.Features {
		if vs == nil {
			vs = []string{}
		}
		if slices.ContainsFunc(vs, func(v string) bool { return strings.HasPrefix(v, "dep:") || strings.Contains(v, "?/") }) {
			if e.Features2 == nil {
				e.Features2 = map[string][]string{}
			}
			e.Features2[k] = vs
			continue
		}
		e.Features[k] = vs
	}
	if e.Features2 != nil {
		e.V = 2
	}
	return e
}

// Manifest is what the registry reads from a crate's Cargo.toml.
type Manifest struct {
	// Name and Version are package.name and package.version.
	Name, Version string
}

// ParseManifest reads the name and version of the [package] table of a
// Cargo.toml as cargo publish writes it (normalized: plain key = "string"
// lines). It is not a general TOML parser.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	inPackage := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), len(b)+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			table := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "["), "]"))
			inPackage = table == "package" || table == "project"
			continue
		}
		if !inPackage {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key = strings.Trim(strings.TrimSpace(key), `"'`)
		if key != "name" && key != "version" {
			continue
		}
		s, err := tomlString(strings.TrimSpace(val))
		if err != nil {
			return m, fmt.Errorf("%w: Cargo.toml: package.%s: %v", core.ErrInvalidArgument, key, err)
		}
		if key == "name" {
			m.Name = s
		} else {
			m.Version = s
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("%w: Cargo.toml: %v", core.ErrInvalidArgument, err)
	}
	if m.Name == "" || m.Version == "" {
		return m, fmt.Errorf("%w: Cargo.toml has no [package] name and version", core.ErrInvalidArgument)
	}
	return m, nil
}

// tomlString reads the TOML string at the start of s (basic "…" or literal
// '…'), ignoring what follows (a comment).
func tomlString(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, "'"):
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated string")
		}
		return s[1 : 1+end], nil
	case strings.HasPrefix(s, `"`):
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return strconv.Unquote(s[:i+1])
			}
		}
		return "", errors.New("unterminated string")
	}
	return "", errors.New("not a string")
}
