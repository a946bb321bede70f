package composer

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// Version normalization as Composer's VersionParser::normalize does it
// (composer/semver): "1.2.3" → "1.2.3.0", "v2.0-beta1" → "2.0.0.0-beta1",
// "dev-main" stays, "1.x-dev" → "1.9999999.9999999.9999999-dev",
// "master" → "dev-master", build metadata ("+build") dropped.
const modifier = `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`

var (
	classicalVersion = regexp.MustCompile(`(?i)^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + modifier + `$`)
	dateVersion      = regexp.MustCompile(`(?i)^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + modifier + `$`)
	devSuffix        = regexp.MustCompile(`(?i)^(.*?)[.-]?dev$`)
	numericBranch    = regexp.MustCompile(`(?i)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$`)
	nonDigit         = regexp.MustCompile(`\D`)
	branchName       = regexp.MustCompile(`^[A-Za-z0-9._/+-]{1,200}$`)
)

// maxVersionLen bounds a version string.
const maxVersionLen = 200

// NormalizeVersion returns the normalized form of a Composer version
// string, or an error wrapping core.ErrInvalidArgument for one Composer
// would refuse. It accepts what a package version can be: a release
// ("1.2.3", "v1.0.0-RC2"), a date version, a numeric branch ("1.x-dev")
// or a named branch ("dev-main").
func NormalizeVersion(v string) (string, error) {
	orig := v
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxVersionLen {
		return "", fmt.Errorf("%w: invalid version string %q", core.ErrInvalidArgument, orig)
	}
	switch v {
	case "master", "trunk", "default":
		v = "dev-" + v
	}
	if len(v) > 4 && strings.EqualFold(v[:4], "dev-") {
		name := v[4:]
		if !branchName.MatchString(name) {
			return "", fmt.Errorf("%w: invalid branch name in version %q", core.ErrInvalidArgument, orig)
		}
		return "dev-" + name, nil
	}
	if i := strings.IndexByte(v, '+'); i > 0 && !strings.ContainsAny(v[:i], " ,") {
		v = v[:i]
	}
	var out string
	var m []string
	if m = classicalVersion.FindStringSubmatch(v); m != nil {
		out = m[1]
		for _, part := range m[2:5] {
			out += cmp.Or(part, ".0")
		}
		m = m[5:]
	} else if m = dateVersion.FindStringSubmatch(v); m != nil {
		out = nonDigit.ReplaceAllString(m[1], ".")
		m = m[2:]
	}
	if m != nil {
		if m[0] != "" {
			if strings.EqualFold(m[0], "stable") {
				return out, nil
			}
			out += "-" + expandStability(m[0]) + strings.TrimLeft(m[1], ".-")
		}
		if m[2] != "" {
			out += "-dev"
		}
		return out, nil
	}
	if m := devSuffix.FindStringSubmatch(v); m != nil {
		if b := numericBranch.FindStringSubmatch(strings.TrimSpace(m[1])); b != nil {
			var s strings.Builder
			for _, part := range b[1:5] {
				if part == "" {
					part = ".x"
				}
				s.WriteString(strings.NewReplacer("*", "x", "X", "x").Replace(part))
			}
			return strings.ReplaceAll(s.String(), "x", "9999999") + "-dev", nil
		}
	}
	return "", fmt.Errorf("%w: invalid version string %q", core.ErrInvalidArgument, orig)
}

func expandStability(s string) string {
	switch strings.ToLower(s) {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "p", "pl":
		return "patch"
	case "rc":
		return "RC"
	}
	return strings.ToLower(s)
}

// IsDev reports whether a normalized version is a development version
// (a branch): those are served in the ~dev metadata file.
func IsDev(normalized string) bool {
	return strings.HasPrefix(normalized, "dev-") || strings.HasSuffix(normalized, "-dev")
}

// stabilityRank orders the suffixes of normalized versions.
var stabilityRank = map[string]int{"dev": 0, "alpha": 1, "beta": 2, "RC": 3, "": 4, "patch": 5}

// compareVersions orders normalized versions: named branches first, by
// name, then the others by their numbers and stability.
func compareVersions(a, b string) int {
	da, db := strings.HasPrefix(a, "dev-"), strings.HasPrefix(b, "dev-")
	switch {
	case da && db:
		return strings.Compare(a, b)
	case da:
		return -1
	case db:
		return 1
	}
	na, sa, _ := strings.Cut(a, "-")
	nb, sb, _ := strings.Cut(b, "-")
	if c := compareNumbers(na, nb); c != 0 {
		return c
	}
	return compareSuffixes(sa, sb)
}

func compareNumbers(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int64
		if i < len(pa) {
			x, _ = strconv.ParseInt(pa[i], 10, 64)
		}
		if i < len(pb) {
			y, _ = strconv.ParseInt(pb[i], 10, 64)
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareSuffixes compares "beta2", "RC1", "dev", "alpha1-dev" and "".
func compareSuffixes(a, b string) int {
	ka, ra := splitSuffix(a)
	kb, rb := splitSuffix(b)
	if c := cmp.Compare(stabilityRank[ka], stabilityRank[kb]); c != 0 {
		return c
	}
	if c := compareNumbers(ra, rb); c != 0 {
		return c
	}
	// "beta1-dev" comes before "beta1".
	switch da, db := strings.HasSuffix(a, "-dev"), strings.HasSuffix(b, "-dev"); {
	case da && !db:
		return -1
	case db && !da:
		return 1
	}
	return 0
}

func splitSuffix(s string) (kind, number string) {
	s, _ = strings.CutSuffix(s, "-dev")
	i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' || r == '.' })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}
