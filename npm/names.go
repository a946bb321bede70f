package npm

import (
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// maxNameLength is npm's limit on a package name, scope included.
const maxNameLength = 214

// validateName checks a package name with npm's rules for new packages
// (validate-npm-package-name): at most 214 characters, lower case, URL-safe
// characters only, not starting with "." or "_", optionally "@scope/name".
// It also refuses ".." anywhere, so a name can never climb out of its
// storage prefix.
func validateName(name string) error {
	if name == "" || len(name) > maxNameLength {
		return errorf(core.ErrInvalidArgument, "invalid package name %q: must be 1-%d characters", name, maxNameLength)
	}
	if strings.Contains(name, "..") {
		return errorf(core.ErrInvalidArgument, "invalid package name %q: contains \"..\"", name)
	}
	base := name
	if strings.HasPrefix(name, "@") {
		scope, rest, ok := strings.Cut(name[1:], "/")
		if !ok || !validNamePart(scope) {
			return errorf(core.ErrInvalidArgument, "invalid package name %q: bad scope", name)
		}
		base = rest
	}
	if !validNamePart(base) {
		return errorf(core.ErrInvalidArgument,
			"invalid package name %q: use lower-case letters, digits, \"-\", \".\", \"_\" and \"~\", not starting with \".\" or \"_\"", name)
	}
	if base == "node_modules" || base == "favicon.ico" {
		return errorf(core.ErrInvalidArgument, "invalid package name %q: reserved", name)
	}
	return nil
}

func validNamePart(s string) bool {
	if s == "" || s[0] == '.' || s[0] == '_' {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// validTag reports whether tag can be a dist-tag: not empty, URL-safe, and
// not itself a version (npm refuses tags that parse as semver ranges such as
// "1.0.0").
func validTag(tag string) bool {
	if tag == "" || len(tag) > 128 || validVersion(tag) {
		return false
	}
	for _, c := range []byte(tag) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// semver is a parsed Semantic Versioning 2.0.0 version.
type semver struct {
	major, minor, patch uint64
	pre                 []string
}

// parseVersion parses a strict semver version as npm stores it (no "v",
// no leading zeros); build metadata is accepted and ignored in ordering.
func parseVersion(v string) (semver, bool) {
	if v == "" || len(v) > 256 {
		return semver{}, false
	}
	if i := strings.IndexByte(v, '+'); i >= 0 {
		if !validIdents(v[i+1:], false) {
			return semver{}, false
		}
		v = v[:i]
	}
	var s semver
	core, pre, hasPre := strings.Cut(v, "-")
	if hasPre {
		if !validIdents(pre, true) {
			return semver{}, false
		}
		s.pre = strings.Split(pre, ".")
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return semver{}, false
	}
	nums := []*uint64{&s.major, &s.minor, &s.patch}
	for i, p := range parts {
		if !numeric(p) || (len(p) > 1 && p[0] == '0') {
			return semver{}, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return semver{}, false
		}
		*nums[i] = n
	}
	return s, true
}

// validVersion reports whether v is a strict semver version.
func validVersion(v string) bool {
	_, ok := parseVersion(v)
	return ok
}

func validIdents(s string, noLeadingZero bool) bool {
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return false
		}
		for _, c := range []byte(id) {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
		if noLeadingZero && numeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// compareVersions orders two versions by semver precedence; unparsable
// versions sort first, among themselves by string.
func compareVersions(a, b string) int {
	va, okA := parseVersion(a)
	vb, okB := parseVersion(b)
	switch {
	case !okA && !okB:
		return strings.Compare(a, b)
	case !okA:
		return -1
	case !okB:
		return 1
	}
	for _, d := range [][2]uint64{{va.major, vb.major}, {va.minor, vb.minor}, {va.patch, vb.patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(va.pre) == 0 && len(vb.pre) == 0:
		return 0
	case len(va.pre) == 0:
		return 1
	case len(vb.pre) == 0:
		return -1
	}
	for i := 0; i < len(va.pre) && i < len(vb.pre); i++ {
		if c := compareIdent(va.pre[i], vb.pre[i]); c != 0 {
			return c
		}
	}
	return cmpInt(len(va.pre), len(vb.pre))
}

func compareIdent(a, b string) int {
	na, nb := numeric(a), numeric(b)
	switch {
	case na && nb:
		if len(a) != len(b) {
			return cmpInt(len(a), len(b))
		}
		return strings.Compare(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
