package maven

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// Metadata is maven-metadata.xml (https://maven.apache.org/ref/3.8.7/maven-repository-metadata/repository-metadata.html)
// at group level (Plugins), artifact level (Versioning.Versions) or
// SNAPSHOT version level (Version, Versioning.Snapshot and
// SnapshotVersions).
type Metadata struct {
	XMLName xml.Name `xml:"metadata"`
	// ModelVersion is "1.1.0" on SNAPSHOT version-level metadata.
	ModelVersion string `xml:"modelVersion,attr,omitempty"`
	// GroupID and ArtifactID name the artifact (empty at group level).
	GroupID    string `xml:"groupId,omitempty"`
	ArtifactID string `xml:"artifactId,omitempty"`
	// Version is set at version level only.
	Version string `xml:"version,omitempty"`
	// Versioning is the artifact's or version's versioning.
	Versioning *Versioning `xml:"versioning,omitempty"`
	// Plugins is set at group level only.
	Plugins *Plugins `xml:"plugins,omitempty"`
}

// Versioning is the <versioning> element.
type Versioning struct {
	// Latest is the version deployed last, Release the release deployed
	// last (artifact level).
	Latest  string `xml:"latest,omitempty"`
	Release string `xml:"release,omitempty"`
	// Snapshot is the newest build (SNAPSHOT version level).
	Snapshot *Snapshot `xml:"snapshot,omitempty"`
	// Versions lists the versions (artifact level).
	Versions *Versions `xml:"versions,omitempty"`
	// LastUpdated is yyyyMMddHHmmss, UTC.
	LastUpdated string `xml:"lastUpdated,omitempty"`
	// SnapshotVersions lists the newest file of each classifier and
	// extension (SNAPSHOT version level).
	SnapshotVersions *SnapshotVersions `xml:"snapshotVersions,omitempty"`
}

// Versions is the <versions> list.
type Versions struct {
	// Version holds the versions in the order they were listed.
	Version []string `xml:"version"`
}

// Snapshot is the latest SNAPSHOT build.
type Snapshot struct {
	// Timestamp is the build's yyyyMMdd.HHmmss, UTC.
	Timestamp string `xml:"timestamp,omitempty"`
	// BuildNumber counts the builds of the version from 1.
	BuildNumber int `xml:"buildNumber,omitempty"`
	// LocalCopy is set when only non-unique (untimestamped) files exist.
	LocalCopy bool `xml:"localCopy,omitempty"`
}

// SnapshotVersions lists the latest build of each classifier and extension.
type SnapshotVersions struct {
	// SnapshotVersion has one entry per classifier and extension.
	SnapshotVersion []SnapshotVersion `xml:"snapshotVersion"`
}

// SnapshotVersion is one file of the latest SNAPSHOT build.
type SnapshotVersion struct {
	// Classifier and Extension say which file ("sources", "jar").
	Classifier string `xml:"classifier,omitempty"`
	Extension  string `xml:"extension"`
	// Value is the timestamped version of the file ("1.0-20260102.150405-3").
	Value string `xml:"value"`
	// Updated is when the file was deployed, yyyyMMddHHmmss, UTC.
	Updated string `xml:"updated"`
}

// Plugins lists the plugins of a group, by prefix.
type Plugins struct {
	// Plugin has one entry per plugin artifact.
	Plugin []Plugin `xml:"plugin"`
}

// Plugin is one plugin of a group.
type Plugin struct {
	// Name is the plugin's display name.
	Name string `xml:"name,omitempty"`
	// Prefix is what goals are called by ("jar" in "jar:jar").
	Prefix string `xml:"prefix"`
	// ArtifactID is the plugin's artifact in the group.
	ArtifactID string `xml:"artifactId"`
}

// ErrNotXML refuses an uploaded maven-metadata.xml that is not XML.
var ErrNotXML = fmt.Errorf("%w: maven-metadata.xml is not XML metadata", core.ErrInvalidArgument)

// ParseMetadata reads a maven-metadata.xml of at most limit bytes. More
// than limit bytes is ErrTooLarge; anything that is not a <metadata>
// document is ErrNotXML. encoding/xml expands no external entities.
func ParseMetadata(r io.Reader, limit int64) (*Metadata, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w: maven-metadata.xml is over %d bytes", core.ErrTooLarge, limit)
	}
	var m Metadata
	dec := xml.NewDecoder(&buf)
	dec.Strict = true
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotXML, err)
	}
	// Nothing but whitespace, comments and processing instructions may
	// follow the root element.
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotXML, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text after </metadata>", ErrNotXML)
			}
		case xml.StartElement:
			return nil, fmt.Errorf("%w: a second root element", ErrNotXML)
		}
	}
	return &m, nil
}

// Level says which metadata a document is.
type Level int

// The metadata levels.
const (
	// LevelGroup lists a group's plugins: <group path>/maven-metadata.xml.
	LevelGroup Level = iota
	// LevelArtifact lists an artifact's versions.
	LevelArtifact
	// LevelVersion describes a SNAPSHOT version's builds.
	LevelVersion
)

// Level returns the level the document's content describes: version level
// when it names a version, group level when it lists plugins and no
// artifact, artifact level otherwise.
func (m *Metadata) Level() Level {
	switch {
	case m.Version != "" && m.ArtifactID != "":
		return LevelVersion
	case m.ArtifactID == "" && m.Plugins != nil:
		return LevelGroup
	default:
		return LevelArtifact
	}
}

// VersionList returns the versions the document lists.
func (m *Metadata) VersionList() []string {
	if m.Versioning == nil || m.Versioning.Versions == nil {
		return nil
	}
	return m.Versioning.Versions.Version
}

// render encodes m as an indented XML document with a declaration.
func (m *Metadata) render() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("render maven-metadata.xml: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// parseChecksum reads an uploaded checksum file: the hex digest, optionally
// followed by white space and a file name (as sha1sum writes it).
func parseChecksum(body []byte, alg string) (string, error) {
	fields := strings.Fields(string(body))
	want := map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}[alg]
	if len(fields) == 0 || len(fields[0]) != want {
		return "", fmt.Errorf("%w: the %s checksum is not %d hex digits", core.ErrInvalidArgument, alg, want)
	}
	sum := strings.ToLower(fields[0])
	for i := 0; i < len(sum); i++ {
		if c := sum[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("%w: the %s checksum is not hex", core.ErrInvalidArgument, alg)
		}
	}
	return sum, nil
}
