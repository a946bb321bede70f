package oci

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Media types this package knows by name.
const (
	MediaTypeImageManifest  = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeImageIndex     = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// nameComponent and the grammar of repository names and tags follow the
// distribution spec ("Pulling manifests").
const nameComponent = `[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*`

var (
	nameRE = regexp.MustCompile(`^` + nameComponent + `(?:/` + nameComponent + `)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	hexRE  = regexp.MustCompile(`^[a-f0-9]+$`)
)

// maxNameLength bounds a repository name (the spec's limit for host and
// name together is 255 characters).
const maxNameLength = 255

// ValidName reports whether name is a repository name in the spec's
// grammar, such as "team/sub/app".
func ValidName(name string) bool {
	return len(name) <= maxNameLength && nameRE.MatchString(name)
}

// ValidTag reports whether tag is a tag in the spec's grammar.
func ValidTag(tag string) bool { return tagRE.MatchString(tag) }

// Digest is a parsed content digest "algorithm:hex".
type Digest struct {
	// Algorithm is "sha256" or "sha512".
	Algorithm string
	// Hex is the lower-case hex encoding of the hash.
	Hex string
}

// hexLength is the length of the encoded part per supported algorithm.
var hexLength = map[string]int{"sha256": 64, "sha512": 128}

// ParseDigest parses and validates a digest. Only sha256 and sha512 are
// accepted; anything else wraps [ErrDigestInvalid].
func ParseDigest(s string) (Digest, error) {
	alg, enc, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("%w: %q is not algorithm:hex", ErrDigestInvalid, s)
	}
	n, known := hexLength[alg]
	if !known {
		return Digest{}, fmt.Errorf("%w: unsupported digest algorithm %q", ErrDigestInvalid, alg)
	}
	if len(enc) != n || !hexRE.MatchString(enc) {
		return Digest{}, fmt.Errorf("%w: %q is not a valid %s digest", ErrDigestInvalid, s, alg)
	}
	return Digest{Algorithm: alg, Hex: enc}, nil
}

// String renders the digest as algorithm:hex.
func (d Digest) String() string { return d.Algorithm + ":" + d.Hex }

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	// MediaType is the media type of the referenced content.
	MediaType string `json:"mediaType"`
	// Digest is the content's digest, "algorithm:hex".
	Digest string `json:"digest"`
	// Size is the content's length in bytes.
	Size int64 `json:"size"`
	// ArtifactType is the artifact type of a referenced manifest, if any.
	ArtifactType string `json:"artifactType,omitempty"`
	// Annotations are arbitrary key-value metadata.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Platform, in an index, describes the platform a manifest is for; it
	// is kept as sent.
	Platform json.RawMessage `json:"platform,omitempty"`
	// URLs are alternative locations of the content (foreign layers).
	URLs []string `json:"urls,omitempty"`
}

// Manifest is the union of the fields of image manifests, image indexes,
// Docker schema 2 manifests and manifest lists that the registry needs.
type Manifest struct {
	// SchemaVersion is 2 for every manifest the registry accepts.
	SchemaVersion int `json:"schemaVersion"`
	// MediaType is the manifest's own media type, when it states one.
	MediaType string `json:"mediaType,omitempty"`
	// ArtifactType is the type of an artifact manifest (OCI 1.1).
	ArtifactType string `json:"artifactType,omitempty"`
	// Config is an image manifest's config blob.
	Config *Descriptor `json:"config,omitempty"`
	// Layers are an image manifest's layer blobs.
	Layers []Descriptor `json:"layers,omitempty"`
	// Manifests are the manifests an index or manifest list lists.
	Manifests []Descriptor `json:"manifests,omitempty"`
	// Subject is the manifest this one refers to (the referrers API).
	Subject *Descriptor `json:"subject,omitempty"`
	// Annotations are arbitrary key-value metadata.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// IsIndex reports whether the manifest lists other manifests.
func (m *Manifest) IsIndex() bool {
	return m.MediaType == MediaTypeImageIndex || m.MediaType == MediaTypeDockerList ||
		(m.MediaType == "" && m.Config == nil && m.Manifests != nil)
}

// EffectiveArtifactType is what the referrers API reports for m: its
// artifactType, or for an image manifest without one its config's media
// type.
func (m *Manifest) EffectiveArtifactType() string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if m.Config != nil && !m.IsIndex() {
		return m.Config.MediaType
	}
	return ""
}

// ParseManifest decodes and checks a manifest body. contentType is the
// Content-Type it was pushed with; when the body names a mediaType too, the
// two must agree. It returns the media type to serve the manifest with.
// Errors wrap [ErrManifestInvalid].
func ParseManifest(body []byte, contentType string) (*Manifest, string, error) {
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrManifestInvalid, err)
	}
	if m.SchemaVersion != 2 {
		return nil, "", fmt.Errorf("%w: schemaVersion %d is not 2", ErrManifestInvalid, m.SchemaVersion)
	}
	ct, err := manifestContentType(contentType)
	if err != nil {
		return nil, "", err
	}
	if m.MediaType != "" && ct != "" && m.MediaType != ct {
		return nil, "", fmt.Errorf("%w: mediaType %q does not match Content-Type %q", ErrManifestInvalid, m.MediaType, ct)
	}
	mediaType := ct
	if mediaType == "" {
		mediaType = m.MediaType
	}
	if mediaType == "" {
		mediaType = MediaTypeImageManifest
		if m.IsIndex() {
			mediaType = MediaTypeImageIndex
		}
	}
	if !knownManifestType(mediaType) {
		return nil, "", fmt.Errorf("%w: %q is not a manifest media type", ErrManifestInvalid, mediaType)
	}
	if m.MediaType == "" {
		m.MediaType = mediaType
	}
	if m.ArtifactType != "" && !ValidMediaType(m.ArtifactType) {
		return nil, "", fmt.Errorf("%w: artifactType %q is not a media type", ErrManifestInvalid, m.ArtifactType)
	}
	for _, d := range m.descriptors() {
		if _, err := ParseDigest(d.Digest); err != nil {
			return nil, "", fmt.Errorf("%w: descriptor: %v", ErrManifestInvalid, err)
		}
		if d.Size < 0 {
			return nil, "", fmt.Errorf("%w: descriptor %s has a negative size", ErrManifestInvalid, d.Digest)
		}
		if d.MediaType != "" && !ValidMediaType(d.MediaType) || d.ArtifactType != "" && !ValidMediaType(d.ArtifactType) {
			return nil, "", fmt.Errorf("%w: descriptor %s: media type %q is not RFC 6838", ErrManifestInvalid, d.Digest, d.MediaType)
		}
	}
	return &m, mediaType, nil
}

// descriptors returns every descriptor of m: config, layers, child
// manifests and subject.
func (m *Manifest) descriptors() []Descriptor {
	var descs []Descriptor
	if m.Config != nil {
		descs = append(descs, *m.Config)
	}
	descs = append(descs, m.Layers...)
	descs = append(descs, m.Manifests...)
	if m.Subject != nil {
		descs = append(descs, *m.Subject)
	}
	return descs
}

// knownManifestType reports whether mt is a manifest media type the image
// spec (or Docker's schema 2) defines: the only types a schemaVersion 2
// manifest may be served as.
func knownManifestType(mt string) bool {
	switch mt {
	case MediaTypeImageManifest, MediaTypeImageIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		return true
	}
	return false
}

// manifestContentType returns the media type of a manifest push's
// Content-Type without its parameters ("" when none was sent). A header
// with control or non-ASCII characters, or whose type is not RFC 6838, is
// ErrManifestInvalid.
func manifestContentType(contentType string) (string, error) {
	for i := 0; i < len(contentType); i++ {
		if c := contentType[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return "", fmt.Errorf("%w: Content-Type has a control or non-ASCII character", ErrManifestInvalid)
		}
	}
	ct := strings.TrimSpace(strings.Split(contentType, ";")[0])
	if ct != "" && !ValidMediaType(ct) {
		return "", fmt.Errorf("%w: Content-Type %q is not a media type", ErrManifestInvalid, ct)
	}
	return ct, nil
}

// ValidMediaType reports whether mt is "type/subtype" in the grammar of
// RFC 6838 section 4.2, without parameters.
func ValidMediaType(mt string) bool {
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && restrictedName(typ) && restrictedName(sub)
}

// restrictedName is RFC 6838's restricted-name: a letter or digit, then
// up to 126 of letters, digits and !#$&-^_.+
func restrictedName(s string) bool {
	if len(s) == 0 || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("!#$&-^_.+", rune(c))) {
			return false
		}
	}
	return true
}

// nonDistributable reports whether a layer must not be required in the
// registry (foreign layers are fetched from their URLs).
func nonDistributable(d Descriptor) bool {
	return strings.Contains(d.MediaType, "nondistributable") || strings.Contains(d.MediaType, ".foreign.") ||
		len(d.URLs) > 0
}

// repoScope is one parsed "repository:<name>:<actions>" scope of a token
// request.
type repoScope struct {
	Name    string
	Actions []string
}

// parseRepoScope parses a token request scope; ok is false for anything
// but a repository scope with a valid name.
func parseRepoScope(s string) (repoScope, bool) {
	typ, rest, ok := strings.Cut(s, ":")
	if !ok || typ != "repository" {
		return repoScope{}, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return repoScope{}, false
	}
	name, actions := rest[:i], rest[i+1:]
	if !ValidName(name) {
		return repoScope{}, false
	}
	return repoScope{Name: name, Actions: strings.Split(actions, ",")}, true
}
