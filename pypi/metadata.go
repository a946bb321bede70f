package pypi

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// validName is a PEP 508 project name.
var validName = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

var separatorRun = regexp.MustCompile(`[-_.]+`)

// NormalizeName returns the PEP 503 normalized form of a project name:
// runs of "-", "_" and "." become one "-", and letters are lower-cased.
func NormalizeName(name string) string {
	return strings.ToLower(separatorRun.ReplaceAllString(name, "-"))
}

// ValidateName checks that name is a PEP 508 project name. Only ASCII is
// accepted: under (?i) the pattern would also let through letters that
// fold to ASCII ones (the Kelvin sign, the long s).
func ValidateName(name string) error {
	if len(name) > 200 || !isASCII(name) || !validName.MatchString(name) {
		return fmt.Errorf("%w: %q is not a valid project name", core.ErrInvalidArgument, name)
	}
	return nil
}

// isASCII reports whether s holds only ASCII characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Package types, as the upload form's filetype and the JSON API's
// packagetype name them.
const (
	TypeWheel = "bdist_wheel"
	TypeSdist = "sdist"
)

// Filename is what a distribution's file name says about it.
type Filename struct {
	// Project is the name as spelled in the file name (wheels escape "-"
	// as "_").
	Project string
	// Version is the version as spelled in the file name.
	Version string
	// Type is TypeWheel or TypeSdist.
	Type string
	// PythonTag is a wheel's python tag ("py3"), or "source" for an sdist.
	PythonTag string
}

// maxFilename bounds a distribution file name (one path segment in URLs
// and on disk for the clients that download it).
const maxFilename = 255

// validFilename is the alphabet of distribution file names; it excludes
// path separators and everything that needs quoting in a URL.
var validFilename = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+!-]*$`)

// ParseFilename parses a wheel name (PEP 427:
// {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl) or an sdist
// name ({name}-{version}.tar.gz or .zip). Anything else, including names
// with path separators or "..", is ErrInvalidArgument.
func ParseFilename(filename string) (Filename, error) {
	bad := func(why string) (Filename, error) {
		return Filename{}, fmt.Errorf("%w: file name %q %s", core.ErrInvalidArgument, filename, why)
	}
	if len(filename) > maxFilename || !validFilename.MatchString(filename) || strings.Contains(filename, "..") {
		return bad("has characters or a length not allowed in a distribution file name")
	}
	if stem, ok := strings.CutSuffix(filename, ".whl"); ok {
		parts := strings.Split(stem, "-")
		if len(parts) != 5 && len(parts) != 6 {
			return bad("is not a wheel name {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl")
		}
		for _, p := range parts {
			if p == "" {
				return bad("has an empty part")
			}
		}
		return Filename{Project: parts[0], Version: parts[1], Type: TypeWheel, PythonTag: parts[len(parts)-3]}, nil
	}
	stem, ok := strings.CutSuffix(filename, ".tar.gz")
	if !ok {
		stem, ok = strings.CutSuffix(filename, ".zip")
	}
	if !ok {
		return bad("is neither a wheel (.whl) nor an sdist (.tar.gz, .zip)")
	}
	i := strings.LastIndexByte(stem, '-')
	if i <= 0 || i == len(stem)-1 {
		return bad("is not an sdist name {name}-{version}.tar.gz")
	}
	return Filename{Project: stem[:i], Version: stem[i+1:], Type: TypeSdist, PythonTag: "source"}, nil
}

// Metadata is the core metadata of a distribution (a wheel's METADATA, an
// sdist's PKG-INFO): the fields this registry uses or shows.
type Metadata struct {
	// MetadataVersion is the Metadata-Version field, e.g. "2.1".
	MetadataVersion string
	// Name is the project name as written (Name).
	Name string
	// Version is the version as written (Version).
	Version string
	// Summary is the one-line description (Summary).
	Summary string
	// Description is the long description: the Description field or the
	// message body.
	Description string
	// DescriptionContentType is the Description-Content-Type field.
	DescriptionContentType string
	// Keywords is the Keywords field.
	Keywords string
	// HomePage is the Home-page field.
	HomePage string
	// DownloadURL is the Download-URL field.
	DownloadURL string
	// Author is the Author field.
	Author string
	// AuthorEmail is the Author-email field.
	AuthorEmail string
	// Maintainer is the Maintainer field.
	Maintainer string
	// MaintainerEmail is the Maintainer-email field.
	MaintainerEmail string
	// License is the License field.
	License string
	// RequiresPython is the Requires-Python specifier, e.g. ">=3.9".
	RequiresPython string
	// Platforms are the Platform fields.
	Platforms []string
	// Classifiers are the Classifier fields.
	Classifiers []string
	// RequiresDist are the Requires-Dist fields (dependencies).
	RequiresDist []string
	// ProvidesExtra are the Provides-Extra fields.
	ProvidesExtra []string
	// ProjectURLs are "label, url" pairs as written.
	ProjectURLs []string
	// Dynamic names the fields an sdist leaves to its build (PEP 643).
	Dynamic []string
}

// resolvable reports whether installers may resolve with an sdist's
// PKG-INFO without building the sdist: only when its Metadata-Version is
// 2.2 or later (PEP 643), so that every field the build may change is
// marked Dynamic, and none that a resolver reads is. (A wheel's METADATA
// always is.)
func (m Metadata) resolvable() bool {
	major, minor, _ := strings.Cut(m.MetadataVersion, ".")
	ma, err := strconv.Atoi(major)
	mi, _ := strconv.Atoi(minor)
	if err != nil || ma < 2 || (ma == 2 && mi < 2) {
		return false
	}
	for _, f := range m.Dynamic {
		switch strings.ToLower(f) {
		case "name", "version", "requires-dist", "requires-python", "provides-extra":
			return false
		}
	}
	return true
}

// Bounds of ParseMetadata, on top of the size bound of the whole file
// (Config.MaxMetadataSize): the header lines, continuation lines included,
// and the length of one header's value once its continuation lines are
// joined. The description body after the headers is bounded only by the
// file's size.
const (
	maxMetadataLines = 200_000
	maxMetadataField = 1 << 20
)

// ParseMetadata parses core metadata: RFC 822 style headers, continuation
// lines starting with white space, and the description as the body after
// the first empty line. Name and Version are required. It runs in time
// linear in its input; more than 200,000 header lines, or a header value
// over 1 MiB, is ErrInvalidArgument.
func ParseMetadata(b []byte) (Metadata, error) {
	fields := map[string][]string{}
	// A header's value is assembled in val and stored when the next header
	// starts, so that continuation lines cost their own length only.
	var last string
	var val strings.Builder
	flush := func() {
		if last != "" {
			fields[last] = append(fields[last], val.String())
		}
		val.Reset()
	}
	rest := b
	var body []byte
	for lines := 0; len(rest) > 0; lines++ {
		if lines == maxMetadataLines {
			return Metadata{}, fmt.Errorf("%w: metadata has more than %d header lines", core.ErrInvalidArgument, maxMetadataLines)
		}
		raw := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			raw, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(raw) == 0 {
			body = rest
			break
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			if last == "" {
				return Metadata{}, fmt.Errorf("%w: metadata starts with a continuation line", core.ErrInvalidArgument)
			}
			cont := bytes.TrimLeft(raw, " \t")
			if val.Len()+1+len(cont) > maxMetadataField {
				return Metadata{}, fmt.Errorf("%w: metadata field %s is over %d bytes", core.ErrInvalidArgument, last, maxMetadataField)
			}
			val.WriteByte('\n')
			val.Write(cont)
			continue
		}
		k, v, ok := bytes.Cut(raw, []byte(":"))
		if !ok {
			line := raw[:min(len(raw), 80)]
			return Metadata{}, fmt.Errorf("%w: metadata line %q is not a header", core.ErrInvalidArgument, line)
		}
		flush()
		last = strings.ToLower(string(bytes.TrimSpace(k)))
		if last == "" {
			return Metadata{}, fmt.Errorf("%w: metadata line %q has no header name", core.ErrInvalidArgument, raw[:min(len(raw), 80)])
		}
		v = bytes.TrimSpace(v)
		if len(v) > maxMetadataField {
			return Metadata{}, fmt.Errorf("%w: metadata field %s is over %d bytes", core.ErrInvalidArgument, last, maxMetadataField)
		}
		val.Write(v)
	}
	flush()
	one := func(k string) string {
		if vs := fields[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	m := Metadata{
		MetadataVersion:        one("metadata-version"),
		Name:                   one("name"),
		Version:                one("version"),
		Summary:                one("summary"),
		Description:            one("description"),
		DescriptionContentType: one("description-content-type"),
		Keywords:               one("keywords"),
		HomePage:               one("home-page"),
		DownloadURL:            one("download-url"),
		Author:                 one("author"),
		AuthorEmail:            one("author-email"),
		Maintainer:             one("maintainer"),
		MaintainerEmail:        one("maintainer-email"),
		License:                one("license"),
		RequiresPython:         one("requires-python"),
		Platforms:              fields["platform"],
		Classifiers:            fields["classifier"],
		RequiresDist:           fields["requires-dist"],
		ProvidesExtra:          fields["provides-extra"],
		ProjectURLs:            fields["project-url"],
		Dynamic:                fields["dynamic"],
	}
	if len(bytes.TrimSpace(body)) > 0 {
		m.Description = string(body)
	}
	if m.Name == "" || m.Version == "" {
		return Metadata{}, fmt.Errorf("%w: metadata lacks Name or Version", core.ErrInvalidArgument)
	}
	return m, nil
}

// isWheelMetadata matches the METADATA file of a wheel's top-level
// .dist-info directory.
func isWheelMetadata(name string) bool {
	dir, file, ok := strings.Cut(name, "/")
	return ok && file == "METADATA" && strings.HasSuffix(dir, ".dist-info")
}

// isSdistPKGInfo matches the PKG-INFO at the top of an sdist's one
// top-level directory.
func isSdistPKGInfo(name string) bool {
	_, file, ok := strings.Cut(name, "/")
	return ok && file == "PKG-INFO"
}
