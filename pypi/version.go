package pypi

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// pep440 is the version grammar of PEP 440 (the "permissive" form the
// packaging library accepts, which normalizes to the canonical one).
var pep440 = regexp.MustCompile(`(?i)^v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?:-(?P<post_n1>[0-9]+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?` +
	`(?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

// Version is a parsed PEP 440 version.
type Version struct {
	// Epoch is the N of "N!", 0 when absent.
	Epoch int
	// Release are the release numbers, e.g. [1 2 0] for 1.2.0.
	Release []int
	// Pre is "a", "b" or "rc" with PreN, or "" when not a pre-release.
	Pre string
	// PreN is the pre-release number: 2 in 1.0rc2.
	PreN int
	// Post and Dev are -1 when absent.
	Post, Dev int
	// Local is the local label split at its separators, or nil.
	Local []string
}

// ParseVersion parses a PEP 440 version in any of its accepted spellings.
func ParseVersion(s string) (Version, error) {
	m := pep440.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || !isASCII(s) { // (?i) would also match letters that fold to ASCII ones
		return Version{}, fmt.Errorf("%w: %q is not a PEP 440 version", core.ErrInvalidArgument, s)
	}
	g := func(name string) string { return m[pep440.SubexpIndex(name)] }
	num := func(s string) int {
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil { // only digits reach here: the number is too big
			return -2
		}
		return n
	}
	v := Version{Epoch: num(g("epoch")), Post: -1, Dev: -1}
	for p := range strings.SplitSeq(g("release"), ".") {
		v.Release = append(v.Release, num(p))
	}
	if l := strings.ToLower(g("pre_l")); l != "" {
		switch l {
		case "alpha", "a":
			v.Pre = "a"
		case "beta", "b":
			v.Pre = "b"
		default:
			v.Pre = "rc"
		}
		v.PreN = num(g("pre_n"))
	}
	if n := g("post_n1"); n != "" {
		v.Post = num(n)
	} else if g("post_l") != "" {
		v.Post = num(g("post_n2"))
	}
	if g("dev_l") != "" {
		v.Dev = num(g("dev_n"))
	}
	if l := g("local"); l != "" {
		v.Local = strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	}
	for _, n := range append([]int{v.Epoch, v.PreN, v.Post, v.Dev}, v.Release...) {
		if n < -1 {
			return Version{}, fmt.Errorf("%w: %q has a number out of range", core.ErrInvalidArgument, s)
		}
	}
	return v, nil
}

// String returns the normalized form, e.g. "1.0rc1.post2.dev3+local.1".
func (v Version) String() string {
	var b strings.Builder
	if v.Epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.Epoch)
	}
	for i, n := range v.Release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if v.Pre != "" {
		fmt.Fprintf(&b, "%s%d", v.Pre, v.PreN)
	}
	if v.Post >= 0 {
		fmt.Fprintf(&b, ".post%d", v.Post)
	}
	if v.Dev >= 0 {
		fmt.Fprintf(&b, ".dev%d", v.Dev)
	}
	if len(v.Local) > 0 {
		b.WriteString("+" + strings.Join(v.Local, "."))
	}
	return b.String()
}

// Prerelease reports whether v is a pre- or development release, which pip
// skips unless asked.
func (v Version) Prerelease() bool { return v.Pre != "" || v.Dev >= 0 }

// Compare orders versions as PEP 440 does: -1, 0 or +1.
func (v Version) Compare(w Version) int {
	if c := cmp.Compare(v.Epoch, w.Epoch); c != 0 {
		return c
	}
	if c := compareRelease(v.Release, w.Release); c != 0 {
		return c
	}
	if c := cmp.Compare(v.preKey(), w.preKey()); c != 0 {
		return c
	}
	if c := cmp.Compare(v.PreN, w.PreN); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Post, w.Post); c != 0 {
		return c
	}
	if c := cmp.Compare(devKey(v.Dev), devKey(w.Dev)); c != 0 {
		return c
	}
	return compareLocal(v.Local, w.Local)
}

// preKey ranks the pre-release part: a dev release of a final version sorts
// before its pre-releases, a final version after them.
func (v Version) preKey() int {
	switch {
	case v.Pre == "" && v.Post < 0 && v.Dev >= 0:
		return 0
	case v.Pre == "a":
		return 1
	case v.Pre == "b":
		return 2
	case v.Pre == "rc":
		return 3
	}
	return 4
}

func devKey(dev int) int {
	if dev < 0 {
		return int(^uint(0) >> 1)
	}
	return dev
}

func compareRelease(a, b []int) int {
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareLocal orders local labels: none first, then segment by segment,
// where a number sorts after any word and numbers compare as numbers.
func compareLocal(a, b []string) int {
	for i := range min(len(a), len(b)) {
		x, xerr := strconv.Atoi(a[i])
		y, yerr := strconv.Atoi(b[i])
		switch {
		case xerr == nil && yerr == nil:
			if c := cmp.Compare(x, y); c != 0 {
				return c
			}
		case xerr == nil:
			return 1
		case yerr == nil:
			return -1
		default:
			if c := cmp.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}
