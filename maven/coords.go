package maven

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// MetadataFile is the name of the repository metadata file at group,
// artifact and (for SNAPSHOTs) version level.
const MetadataFile = "maven-metadata.xml"

// snapshotSuffix ends every SNAPSHOT version.
const snapshotSuffix = "-SNAPSHOT"

// ChecksumAlgorithms are the checksum file extensions served for every
// file, in the order they are listed.
var ChecksumAlgorithms = []string{"md5", "sha1", "sha256", "sha512"}

// Coordinates name one file of the standard layout:
// <group path>/<artifact>/<version>/<file>.
type Coordinates struct {
	// Group is the groupId, dot-separated ("com.example").
	Group string
	// Artifact is the artifactId.
	Artifact string
	// Version is the version directory ("1.0", "1.0-SNAPSHOT").
	Version string
	// File is the file name in the version directory.
	File string
}

// FileName is a file name parsed against its artifact and version.
type FileName struct {
	// Classifier is "" or the classifier ("sources").
	Classifier string
	// Extension is what follows the version and classifier ("jar",
	// "jar.asc", "pom").
	Extension string
	// Build is "" for a release file or a non-unique SNAPSHOT file
	// ("app-1.0-SNAPSHOT.jar"), else the timestamped build of a SNAPSHOT
	// ("20260102.150405-3").
	Build string
}

// IsSnapshot reports whether version is a SNAPSHOT version.
func IsSnapshot(version string) bool { return strings.HasSuffix(version, snapshotSuffix) }

// ParsePath splits a repository path (without leading or trailing "/") into
// its group segments, and the last three segments. It validates every
// segment: no empty, "." or ".." segments, and Maven's grammar for group
// and artifact ids.
func ParsePath(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("%w: empty path", core.ErrInvalidArgument)
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, fmt.Errorf("%w: path %.200q has an empty, \".\" or \"..\" segment", core.ErrInvalidArgument, p)
		}
	}
	return segs, nil
}

// ParseCoordinates parses the path of a file in a version directory, from
// its end: file, version, artifact, and the rest is the group.
func ParseCoordinates(p string) (Coordinates, error) {
	segs, err := ParsePath(p)
	if err != nil {
		return Coordinates{}, err
	}
	if len(segs) < 4 {
		return Coordinates{}, fmt.Errorf("%w: %.200q is not <group>/<artifact>/<version>/<file>", core.ErrInvalidArgument, p)
	}
	n := len(segs)
	group, err := joinGroup(segs[:n-3])
	if err != nil {
		return Coordinates{}, err
	}
	c := Coordinates{Group: group, Artifact: segs[n-3], Version: segs[n-2], File: segs[n-1]}
	if err := c.validate(); err != nil {
		return Coordinates{}, err
	}
	return c, nil
}

// joinGroup makes the groupId of the group directories of a path. A
// directory with a dot in it is refused: the layout spells every dot of a
// groupId as "/", and "com.example/app" must not alias "com/example/app".
func joinGroup(segs []string) (string, error) {
	for _, s := range segs {
		if strings.Contains(s, ".") {
			return "", fmt.Errorf("%w: group directory %.200q holds a dot: a groupId's dots are \"/\" in the layout", core.ErrInvalidArgument, s)
		}
	}
	g := strings.Join(segs, ".")
	return g, ValidateGroup(g)
}

func (c Coordinates) validate() error {
	if err := ValidateGroup(c.Group); err != nil {
		return err
	}
	if err := ValidateID("artifactId", c.Artifact); err != nil {
		return err
	}
	if err := ValidateVersion(c.Version); err != nil {
		return err
	}
	return nil
}

// Path is the repository path of the file.
func (c Coordinates) Path() string {
	return strings.ReplaceAll(c.Group, ".", "/") + "/" + c.Artifact + "/" + c.Version + "/" + c.File
}

// ValidateGroup checks a groupId: dot-separated ids.
func ValidateGroup(g string) error {
	if g == "" {
		return fmt.Errorf("%w: empty groupId", core.ErrInvalidArgument)
	}
	for _, s := range strings.Split(g, ".") {
		if err := ValidateID("groupId", s); err != nil {
			return fmt.Errorf("%w: groupId %.200q has an invalid part", core.ErrInvalidArgument, g)
		}
	}
	return nil
}

// maxID bounds an id, version, classifier or extension.
const maxID = 200

// ValidateID checks a groupId segment or an artifactId against Maven's
// grammar [A-Za-z0-9_\-.]+ (without "." or ".." as a whole).
func ValidateID(what, s string) error {
	if s == "" || len(s) > maxID || s == "." || s == ".." || strings.Contains(s, "..") {
		return fmt.Errorf("%w: invalid %s %.200q", core.ErrInvalidArgument, what, s)
	}
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return fmt.Errorf("%w: invalid %s %.200q", core.ErrInvalidArgument, what, s)
		}
	}
	return nil
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// ValidateVersion checks a version: the id characters and "+", starting
// with a letter or digit, not "-SNAPSHOT" alone.
func ValidateVersion(v string) error {
	ok := v != "" && len(v) <= maxID && !strings.Contains(v, "..") && v != snapshotSuffix[1:]
	for i := 0; ok && i < len(v); i++ {
		ok = idChar(v[i]) || v[i] == '+'
	}
	if !ok || !(v[0] >= '0' && v[0] <= '9' || v[0] >= 'a' && v[0] <= 'z' || v[0] >= 'A' && v[0] <= 'Z') ||
		strings.TrimSuffix(v, snapshotSuffix) == "" {
		return fmt.Errorf("%w: invalid version %.200q", core.ErrInvalidArgument, v)
	}
	return nil
}

// ParseFileName parses a file name of artifact at version:
// <artifact>-<version>[-<classifier>].<extension>, where a SNAPSHOT's
// version part may be a timestamped build (<base>-<yyyyMMdd.HHmmss>-<n>).
func ParseFileName(artifact, version, file string) (FileName, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: file name %.200q is not %s-%s[-<classifier>].<extension>: %s", core.ErrInvalidArgument,
			file, artifact, version, why)
	}
	rest, ok := strings.CutPrefix(file, artifact+"-")
	if !ok {
		return FileName{}, bad("it does not start with the artifactId")
	}
	var fn FileName
	if r, ok := strings.CutPrefix(rest, version); ok && (strings.HasPrefix(r, ".") || strings.HasPrefix(r, "-")) {
		rest = r
	} else if base, snap := strings.CutSuffix(version, snapshotSuffix); snap {
		r, ok := strings.CutPrefix(rest, base+"-")
		if !ok || len(r) < len("yyyyMMdd.HHmmss-1") {
			return FileName{}, bad("the version does not match")
		}
		stamp, r := r[:15], r[15:]
		if _, err := time.Parse(snapshotTimeLayout, stamp); err != nil || !strings.HasPrefix(r, "-") {
			return FileName{}, bad("the SNAPSHOT timestamp is not yyyyMMdd.HHmmss-<build>")
		}
		end := 1
		for end < len(r) && r[end] >= '0' && r[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(r[1:end])
		if err != nil || n < 1 || end > 10 {
			return FileName{}, bad("the SNAPSHOT build number is not a positive number")
		}
		fn.Build, rest = stamp+r[:end], r[end:]
	} else {
		return FileName{}, bad("the version does not match")
	}
	if c, ok := strings.CutPrefix(rest, "-"); ok {
		dot := strings.IndexByte(c, '.')
		if dot <= 0 {
			return FileName{}, bad("no extension after the classifier")
		}
		fn.Classifier, rest = c[:dot], c[dot:]
		if err := ValidateID("classifier", fn.Classifier); err != nil {
			return FileName{}, err
		}
	}
	ext, ok := strings.CutPrefix(rest, ".")
	if !ok || ext == "" || strings.HasSuffix(ext, ".") || strings.HasPrefix(ext, ".") {
		return FileName{}, bad("no extension")
	}
	if err := ValidateID("extension", ext); err != nil {
		return FileName{}, err
	}
	fn.Extension = ext
	return fn, nil
}

// BuildNumber returns the build number of a timestamped SNAPSHOT build
// ("20260102.150405-3" → 3), or 0.
func BuildNumber(build string) int {
	_, n, ok := strings.Cut(build, "-")
	if !ok {
		return 0
	}
	i, _ := strconv.Atoi(n)
	return i
}

// snapshotTimeLayout is a SNAPSHOT build's timestamp, UTC.
const snapshotTimeLayout = "20060102.150405"

// lastUpdatedLayout is metadata's lastUpdated and updated, UTC.
const lastUpdatedLayout = "20060102150405"

// splitChecksum splits "<file>.<alg>" into the file and algorithm when alg
// is one of ChecksumAlgorithms.
func splitChecksum(file string) (string, string, bool) {
	dot := strings.LastIndexByte(file, '.')
	if dot <= 0 {
		return file, "", false
	}
	for _, a := range ChecksumAlgorithms {
		if file[dot+1:] == a {
			return file[:dot], a, true
		}
	}
	return file, "", false
}
