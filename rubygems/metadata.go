package rubygems

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/smartregistry/smartregistry/core"
)

// Spec is what the registry keeps of a gemspec: the fields the compact
// index, the legacy index, the quick gemspecs and API v1 serve.
type Spec struct {
	// Name is the gem's name.
	Name string `json:"name"`
	// Version is the version in its canonical form ("1.0.0", "2.0.0.pre1").
	Version string `json:"version"`
	// Platform is "ruby" for a pure-Ruby gem, else e.g. "java" or
	// "x86_64-linux".
	Platform string `json:"platform"`
	// Dependencies are the runtime dependencies, DevDependencies the
	// development ones; each requirement is "<op> <version>".
	Dependencies    []Dependency `json:"dependencies,omitempty"`
	DevDependencies []Dependency `json:"devDependencies,omitempty"`
	// RequiredRuby and RequiredRubygems are requirements, "<op> <version>".
	RequiredRuby     []string `json:"requiredRuby,omitempty"`
	RequiredRubygems []string `json:"requiredRubygems,omitempty"`
	// Summary and Description describe the gem.
	Summary     string `json:"summary,omitempty"`
	Description string `json:"description,omitempty"`
	// Authors, Email, Homepage and Licenses are as the gemspec says.
	Authors  []string `json:"authors,omitempty"`
	Email    []string `json:"email,omitempty"`
	Homepage string   `json:"homepage,omitempty"`
	Licenses []string `json:"licenses,omitempty"`
	// Metadata is the gemspec's metadata map (source_code_uri, …).
	Metadata map[string]string `json:"metadata,omitempty"`
	// Date is the gemspec's date, YYYY-MM-DD.
	Date string `json:"date,omitempty"`
	// RubygemsVersion is the rubygems that built the gem, SpecVersion the
	// gemspec's specification_version.
	RubygemsVersion string `json:"rubygemsVersion,omitempty"`
	SpecVersion     int    `json:"specVersion,omitempty"`
}

// Dependency is one dependency of a gem.
type Dependency struct {
	// Name is the gem depended on.
	Name string `json:"name"`
	// Requirements are "<op> <version>", all of which must hold.
	Requirements []string `json:"requirements"`
}

// FullName is name-version, with -platform for a platform gem: the gem's
// file name without ".gem".
func (s *Spec) FullName() string { return s.Name + "-" + versionID(s.Version, s.Platform) }

// versionID is a version with its platform, "1.0.0" or "1.0.0-java": the
// id of a version in the gem document and in the compact index.
func versionID(version, platform string) string {
	if platform == "" || platform == "ruby" {
		return version
	}
	return version + "-" + platform
}

var (
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	versionRe  = regexp.MustCompile(`^[0-9]+(\.[0-9A-Za-z]+)*$`)
	platformRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	opRe       = regexp.MustCompile(`^(=|!=|>|<|>=|<=|~>)$`)
	dateRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
)

// ValidateName checks a gem name: letters, digits, ".", "_" and "-",
// starting with a letter or digit, no "..", at most 128 characters.
func ValidateName(name string) error {
	if len(name) > 128 || !nameRe.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("%w: invalid gem name %.140q", core.ErrInvalidArgument, name)
	}
	return nil
}

// ValidateVersion checks a version in its canonical form ("1.0.0",
// "2.0.0.pre1"), at most 64 characters.
func ValidateVersion(v string) error {
	if len(v) > 64 || !versionRe.MatchString(v) {
		return fmt.Errorf("%w: invalid version %.80q", core.ErrInvalidArgument, v)
	}
	return nil
}

// ValidatePlatform checks a platform name ("ruby", "java",
// "x86_64-linux").
func ValidatePlatform(p string) error {
	if len(p) > 64 || !platformRe.MatchString(p) || strings.Contains(p, "..") {
		return fmt.Errorf("%w: invalid platform %.80q", core.ErrInvalidArgument, p)
	}
	return nil
}

// Prerelease reports whether a version is a prerelease: it holds a letter.
func Prerelease(v string) bool {
	return strings.IndexFunc(v, func(r rune) bool { return r >= 'A' && r <= 'z' && (r <= 'Z' || r >= 'a') }) >= 0
}

// CompareVersions orders two versions as Gem::Version#<=> does: segments
// of digits or of letters, numbers compared as numbers, a letter segment
// before any number (so "1.0.a" < "1.0"), missing segments as 0.
func CompareVersions(a, b string) int {
	sa, sb := versionSegments(a), versionSegments(b)
	for i := range max(len(sa), len(sb)) {
		l, r := segmentAt(sa, i), segmentAt(sb, i)
		if l == r {
			continue
		}
		ln, lerr := strconv.ParseUint(l, 10, 64)
		rn, rerr := strconv.ParseUint(r, 10, 64)
		switch {
		case lerr == nil && rerr == nil:
			if ln != rn {
				if ln < rn {
					return -1
				}
				return 1
			}
		case lerr != nil && rerr == nil:
			return -1
		case lerr == nil && rerr != nil:
			return 1
		default:
			return strings.Compare(l, r)
		}
	}
	return 0
}

func segmentAt(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "0"
}

// versionSegments splits a version into runs of digits and runs of
// letters, dropping leading zeros of numbers.
func versionSegments(v string) []string {
	var out []string
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isAlpha := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	for i := 0; i < len(v); {
		j := i
		switch {
		case isDigit(v[i]):
			for j < len(v) && isDigit(v[j]) {
				j++
			}
			n := strings.TrimLeft(v[i:j], "0")
			if n == "" {
				n = "0"
			}
			out = append(out, n)
		case isAlpha(v[i]):
			for j < len(v) && isAlpha(v[j]) {
				j++
			}
			out = append(out, v[i:j])
		default:
			j++
		}
		i = j
	}
	return out
}

// SpecLimits bound the work of reading a gemspec.
type SpecLimits struct {
	// MaxNodes bounds the YAML nodes visited, alias expansions included
	// (a "billion laughs" document is refused); default 100,000.
	MaxNodes int
	// MaxDepth bounds the nesting; default 64.
	MaxDepth int
}

const (
	defaultMaxNodes = 100_000
	defaultMaxDepth = 64
)

// allowedTags are the YAML tags a gemspec may carry. The Ruby object tags
// are read as plain maps: nothing is ever instantiated.
var allowedTags = []string{
	"!!map", "!!seq", "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary",
	"!ruby/object:Gem::Specification", "!ruby/object:Gem::Version", "!ruby/object:Gem::Requirement",
	"!ruby/object:Gem::Dependency", "!ruby/object:Gem::Platform", "!ruby/object:Gem::Version::Requirement",
}

// ParseSpec reads a gemspec as `gem build` writes it into metadata.gz
// (YAML with Ruby object tags), as plain data. Tags other than the
// gemspec's own are refused, and so are documents whose aliases expand
// past lim.
func ParseSpec(b []byte, lim SpecLimits) (*Spec, error) {
	if lim.MaxNodes <= 0 {
		lim.MaxNodes = defaultMaxNodes
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = defaultMaxDepth
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: the gemspec is not YAML: %v", core.ErrInvalidArgument, err)
	}
	w := &yamlWalker{left: lim.MaxNodes, maxDepth: lim.MaxDepth}
	v, err := w.plain(&doc, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: gemspec: %w", core.ErrInvalidArgument, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the gemspec is not a mapping", core.ErrInvalidArgument)
	}
	return specFromMap(m)
}

// yamlWalker turns a yaml.Node tree into plain Go values (maps, slices,
// strings, nil), counting every node it visits, so that aliases cannot
// make it do unbounded work.
type yamlWalker struct {
	left     int
	maxDepth int
}

func (w *yamlWalker) plain(n *yaml.Node, depth int) (any, error) {
	w.left--
	if w.left < 0 {
		return nil, fmt.Errorf("too many nodes (aliases expanded)")
	}
	if depth > w.maxDepth {
		return nil, fmt.Errorf("nested deeper than %d", w.maxDepth)
	}
	if n.Kind != yaml.DocumentNode && n.Kind != yaml.AliasNode {
		if tag := n.ShortTag(); !slices.Contains(allowedTags, tag) {
			return nil, fmt.Errorf("tag %.80q is not allowed", tag)
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return w.plain(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("unknown alias")
		}
		return w.plain(n.Alias, depth+1)
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := w.plain(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := w.plain(n.Content[i], depth+1)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("a mapping key is not a string")
			}
			v, err := w.plain(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			out[ks] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected YAML node kind %d", n.Kind)
}

// specFromMap picks the fields of a gemspec out of its plain form and
// validates name, version and platform.
func specFromMap(m map[string]any) (*Spec, error) {
	s := &Spec{
		Name:            str(m["name"]),
		Version:         versionOf(m["version"]),
		Platform:        platformOf(m["platform"]),
		Summary:         str(m["summary"]),
		Description:     str(m["description"]),
		Homepage:        str(m["homepage"]),
		Authors:         strs(m["authors"]),
		Email:           strs(m["email"]),
		Licenses:        strs(m["licenses"]),
		RubygemsVersion: str(m["rubygems_version"]),
	}
	if n, err := strconv.Atoi(str(m["specification_version"])); err == nil {
		s.SpecVersion = n
	}
	if d := str(m["date"]); dateRe.MatchString(d) {
		s.Date = d[:10]
	}
	if md, ok := m["metadata"].(map[string]any); ok && len(md) > 0 {
		s.Metadata = map[string]string{}
		for k, v := range md {
			s.Metadata[k] = str(v)
		}
	}
	if err := ValidateName(s.Name); err != nil {
		return nil, err
	}
	if err := ValidateVersion(s.Version); err != nil {
		return nil, err
	}
	if err := ValidatePlatform(s.Platform); err != nil {
		return nil, err
	}
	var err error
	if s.RequiredRuby, err = requirementOf(m["required_ruby_version"]); err != nil {
		return nil, err
	}
	if s.RequiredRubygems, err = requirementOf(m["required_rubygems_version"]); err != nil {
		return nil, err
	}
	deps, _ := m["dependencies"].([]any)
	for _, d := range deps {
		dm, ok := d.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: a dependency is not a mapping", core.ErrInvalidArgument)
		}
		dep := Dependency{Name: str(dm["name"])}
		if err := ValidateName(dep.Name); err != nil {
			return nil, fmt.Errorf("dependency: %w", err)
		}
		req := dm["requirement"]
		if req == nil {
			req = dm["version_requirements"]
		}
		if dep.Requirements, err = requirementOf(req); err != nil {
			return nil, err
		}
		if len(dep.Requirements) == 0 {
			dep.Requirements = []string{">= 0"}
		}
		if strings.TrimPrefix(str(dm["type"]), ":") == "development" {
			s.DevDependencies = append(s.DevDependencies, dep)
		} else {
			s.Dependencies = append(s.Dependencies, dep)
		}
	}
	return s, nil
}

// requirementOf reads a Gem::Requirement ({requirements: [[op, version],
// …]}) as "<op> <version>" strings.
func requirementOf(v any) ([]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	list, _ := m["requirements"].([]any)
	var out []string
	for _, r := range list {
		pair, ok := r.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("%w: malformed requirement", core.ErrInvalidArgument)
		}
		op, ver := str(pair[0]), versionOf(pair[1])
		if !opRe.MatchString(op) || !requirementVersionRe.MatchString(ver) {
			return nil, fmt.Errorf("%w: malformed requirement %.40q %.40q", core.ErrInvalidArgument, op, ver)
		}
		out = append(out, op+" "+ver)
	}
	return out, nil
}

// requirementVersionRe is a version as a requirement may name it.
var requirementVersionRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.-]{0,63}$`)

// versionOf reads a Gem::Version ({version: "1.0"}) or a plain string.
func versionOf(v any) string {
	if m, ok := v.(map[string]any); ok {
		return str(m["version"])
	}
	return str(v)
}

// platformOf reads the platform: a string, or a Gem::Platform map (cpu,
// os, version); empty means "ruby".
func platformOf(v any) string {
	if m, ok := v.(map[string]any); ok {
		var parts []string
		for _, k := range []string{"cpu", "os", "version"} {
			if s := str(m[k]); s != "" {
				parts = append(parts, s)
			}
		}
		v = strings.Join(parts, "-")
	}
	if s := str(v); s != "" {
		return s
	}
	return "ruby"
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		if x != "" {
			return []string{x}
		}
	case []any:
		var out []string
		for _, e := range x {
			if s := str(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
