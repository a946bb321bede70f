package composer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// namePattern is Composer's rule for package names (vendor/package, lower
// case), from its JSON schema.
var namePattern = regexp.MustCompile(`^[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$`)

// maxNameLen bounds a package name.
const maxNameLen = 200

// ValidateName checks a package name ("vendor/package", lower case) by
// Composer's rules; an error wraps core.ErrInvalidArgument.
func ValidateName(name string) error {
	if len(name) > maxNameLen || !namePattern.MatchString(name) {
		return fmt.Errorf("%w: invalid package name %q (vendor/package, lower case)", core.ErrInvalidArgument, name)
	}
	return nil
}

// Manifest is what an uploaded zip's composer.json says.
type Manifest struct {
	// Name is the package name, "vendor/package".
	Name string
	// Version is the "version" field, often absent.
	Version string
	// Description and Type are shown by search.json.
	Description, Type string
	// Fields are the composer.json fields that pass into the repository
	// metadata, as compact JSON.
	Fields map[string]json.RawMessage
}

// omittedFields are composer.json fields that do not pass into the
// metadata: the repository sets name, version, dist, source and time, and
// the others only mean something in a root package.
var omittedFields = []string{"name", "version", "version_normalized", "dist", "source", "time", "repositories",
	"config", "minimum-stability", "prefer-stable", "scripts", "scripts-descriptions", "notification-url"}

// Field shapes that composer refuses to load when they are wrong: a bad
// one would break every install that resolves the package.
var (
	stringMapFields = []string{"require", "require-dev", "conflict", "provide", "replace", "suggest"}
	objectFields    = []string{"autoload", "autoload-dev", "extra", "support", "archive"}
	stringFields    = []string{"description", "type", "homepage", "target-dir", "readme"}
	stringList      = []string{"keywords", "bin", "include-path"}
	arrayFields     = []string{"authors", "funding"}
)

// ParseManifest parses composer.json. An error wraps
// core.ErrInvalidArgument and says what is wrong.
func ParseManifest(b []byte) (*Manifest, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark, as editors on Windows write
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("%w: composer.json is not a JSON object: %v", core.ErrInvalidArgument, err)
	}
	m := &Manifest{Fields: map[string]json.RawMessage{}}
	str := func(k string, dst *string) error {
		raw, ok := fields[k]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%w: composer.json: %q must be a string", core.ErrInvalidArgument, k)
		}
		return nil
	}
	for k, dst := range map[string]*string{"name": &m.Name, "version": &m.Version, "description": &m.Description, "type": &m.Type} {
		if err := str(k, dst); err != nil {
			return nil, err
		}
	}
	if m.Name == "" {
		return nil, fmt.Errorf("%w: composer.json has no \"name\"", core.ErrInvalidArgument)
	}
	for k, raw := range fields {
		if slices.Contains(omittedFields, k) {
			continue
		}
		if err := checkField(k, raw); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("%w: composer.json: %q: %v", core.ErrInvalidArgument, k, err)
		}
		m.Fields[k] = buf.Bytes()
	}
	return m, nil
}

// checkField refuses a field whose shape composer would refuse to load.
func checkField(k string, raw json.RawMessage) error {
	bad := func(want string) error {
		return fmt.Errorf("%w: composer.json: %q must be %s", core.ErrInvalidArgument, k, want)
	}
	switch {
	case slices.Contains(stringMapFields, k):
		var v map[string]string
		if json.Unmarshal(raw, &v) != nil {
			return bad("an object of strings")
		}
	case slices.Contains(objectFields, k):
		var v map[string]any
		if json.Unmarshal(raw, &v) != nil {
			return bad("an object")
		}
	case slices.Contains(stringFields, k):
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return bad("a string")
		}
	case slices.Contains(stringList, k):
		var v []string
		if json.Unmarshal(raw, &v) != nil {
			return bad("an array of strings")
		}
	case slices.Contains(arrayFields, k):
		var v []any
		if json.Unmarshal(raw, &v) != nil {
			return bad("an array")
		}
	case k == "license":
		var s string
		var l []string
		if json.Unmarshal(raw, &s) != nil && json.Unmarshal(raw, &l) != nil {
			return bad("a string or an array of strings")
		}
	}
	return nil
}

// versionRecord is one version in the package document (the data of its
// line, keyed by the normalized version).
type versionRecord struct {
	// Version is the version as uploaded ("v1.2.0", "dev-main").
	Version string `json:"version"`
	// Object is the id of the stored zip (distKey): unique to its upload.
	Object string `json:"object"`
	// SHA1 is the zip's sha1, hex: the dist's shasum and reference.
	SHA1 string    `json:"sha1"`
	Size int64     `json:"size"`
	Time time.Time `json:"time"`
	// Fields are the composer.json fields that pass into the metadata.
	Fields map[string]json.RawMessage `json:"fields"`
}

// dist is the "dist" of a version in the repository metadata.
type dist struct {
	Type      string `json:"type"`
	URL       string `json:"url"`
	Reference string `json:"reference"`
	Shasum    string `json:"shasum"`
}

// field is one key of a version in the metadata, its value as JSON.
type field struct {
	key   string
	value json.RawMessage
}

// metadataOf returns the fields of a version in the repository metadata,
// sorted by key: composer.json's fields and name, version,
// version_normalized, dist and time. distURL is where the zip is served.
func metadataOf(name, normalized string, rec *versionRecord, distURL string) ([]field, error) {
	out := make([]field, 0, len(rec.Fields)+5)
	for k, v := range rec.Fields {
		out = append(out, field{k, v})
	}
	add := func(k string, v any) error {
		b, err := json.Marshal(v)
		out = append(out, field{k, b})
		return err
	}
	for _, f := range []struct {
		k string
		v any
	}{{"name", name}, {"version", rec.Version}, {"version_normalized", normalized},
		{"dist", dist{Type: "zip", URL: distURL, Reference: rec.SHA1, Shasum: rec.SHA1}},
		{"time", rec.Time.UTC().Format(time.RFC3339)}} {
		if err := add(f.k, f.v); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b field) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

// unset is the value that removes a key in the composer/2.0 minified form.
var unset = json.RawMessage(`"__unset"`)

// minify writes versions (each sorted by key) in Composer's composer/2.0
// minified form (MetadataMinifier): the first version whole, each next one
// only with the keys whose value changed from the version before, and
// "__unset" for a key it no longer has.
func minify(buf *bytes.Buffer, versions [][]field) {
	buf.WriteByte('[')
	for i, v := range versions {
		if i > 0 {
			buf.WriteByte(',')
			diffVersion(buf, versions[i-1], v)
		} else {
			diffVersion(buf, nil, v)
		}
	}
	buf.WriteByte(']')
}

// diffVersion writes one version of the minified form: the keys of cur
// whose value differs from prev's (all of them when prev is nil), then
// "__unset" for each key of prev that cur lacks. The expanded state after
// a version is that version's fields, so an entry depends only on its
// version and the one before: renderings reuse the entries of versions
// whose neighbours did not change. Both lists are sorted by key.
func diffVersion(buf *bytes.Buffer, prev, cur []field) {
	buf.WriteByte('{')
	n := 0
	var gone []string
	i := 0
	for _, f := range cur {
		for i < len(prev) && prev[i].key < f.key {
			gone = append(gone, prev[i].key)
			i++
		}
		if i < len(prev) && prev[i].key == f.key {
			same := bytes.Equal(prev[i].value, f.value)
			i++
			if same {
				continue
			}
		}
		writeField(buf, &n, f.key, f.value)
	}
	for ; i < len(prev); i++ {
		gone = append(gone, prev[i].key)
	}
	for _, k := range gone {
		writeField(buf, &n, k, unset)
	}
	buf.WriteByte('}')
}

func writeField(buf *bytes.Buffer, n *int, k string, v json.RawMessage) {
	if *n > 0 {
		buf.WriteByte(',')
	}
	*n++
	if plainKey(k) {
		buf.WriteByte('"')
		buf.WriteString(k)
		buf.WriteByte('"')
	} else {
		kb, _ := json.Marshal(k)
		buf.Write(kb)
	}
	buf.WriteByte(':')
	buf.Write(v)
}

// plainKey reports whether k needs no escaping in JSON (composer.json's
// keys always do).
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Expand undoes minify (Composer's MetadataMinifier::expand), for tests
// and tools that read the minified form: each version gets the keys of the
// version before it, overridden by its own, without those set to
// "__unset".
func Expand(minified []map[string]json.RawMessage) []map[string]json.RawMessage {
	out := make([]map[string]json.RawMessage, 0, len(minified))
	var prev map[string]json.RawMessage
	for _, v := range minified {
		cur := make(map[string]json.RawMessage, len(prev)+len(v))
		for k, val := range prev {
			cur[k] = val
		}
		for k, val := range v {
			if bytes.Equal(val, unset) {
				delete(cur, k)
				continue
			}
			cur[k] = val
		}
		out = append(out, cur)
		prev = cur
	}
	return out
}
