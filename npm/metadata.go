package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// highestVersion returns the highest version without a pre-release part, or
// the highest of all when every version is a pre-release.
func highestVersion(versions []string) string {
	best, bestStable := "", ""
	for _, v := range versions {
		if best == "" || compareVersions(v, best) > 0 {
			best = v
		}
		if s, ok := parseVersion(v); ok && len(s.pre) == 0 && (bestStable == "" || compareVersions(v, bestStable) > 0) {
			bestStable = v
		}
	}
	if bestStable != "" {
		return bestStable
	}
	return best
}

// manifestInfo is what the registry reads from a version manifest.
type manifestInfo struct {
	Name        string                     `json:"name"`
	Version     string                     `json:"version"`
	Description string                     `json:"description"`
	Keywords    json.RawMessage            `json:"keywords"`
	Scripts     map[string]json.RawMessage `json:"scripts"`
	Dist        struct {
		Shasum    string `json:"shasum"`
		Integrity string `json:"integrity"`
	} `json:"dist"`
}

// keywords returns the manifest's keywords, whether a list or one string.
func (m *manifestInfo) keywords() []string {
	var list []string
	if json.Unmarshal(m.Keywords, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(m.Keywords, &one) == nil && one != "" {
		return strings.Fields(strings.ReplaceAll(one, ",", " "))
	}
	return nil
}

// rootFields are copied from the latest version's manifest to the top of
// the full document, as the public registry does.
var rootFields = []string{"description", "readme", "maintainers", "keywords", "license", "repository",
	"homepage", "author", "bugs"}

// abbreviatedFields are the manifest fields of the abbreviated document
// (Accept: application/vnd.npm.install-v1+json): what installing needs.
var abbreviatedFields = []string{"name", "version", "deprecated", "dependencies", "optionalDependencies",
	"devDependencies", "bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta",
	"bin", "directories", "dist", "engines", "_hasShrinkwrap", "hasInstallScript", "cpu", "os", "libc",
	"funding", "license"}

// renderPackument renders the document as served: full, or abbreviated.
// base is the public URL of the base path, for tarball URLs. The stored
// manifests are copied as they are, with base in their slot: no version
// is decoded but the latest (for the full document's top-level fields).
func renderPackument(d *storedPackument, base string, abbreviated bool) ([]byte, error) {
	h := &d.Head
	modified := h.Modified.UTC().Format(time.RFC3339Nano)
	var out map[string]any
	if abbreviated {
		out = map[string]any{"name": h.Name, "modified": modified, "dist-tags": h.DistTags}
	} else {
		out = map[string]any{"_id": h.Name, "_rev": d.rev(), "name": h.Name, "dist-tags": h.DistTags}
		if latest := d.latestManifest(); latest != nil {
			for _, k := range rootFields {
				if v, ok := latest[k]; ok {
					out[k] = v
				}
			}
		}
		if len(h.Maintainers) > 0 {
			out["maintainers"] = maintainerList(h.Maintainers)
		}
	}
	head, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", h.Name, err)
	}
	entries := make([]versionEntry, 0, d.Len())
	size := len(head) + 64
	for v, data := range d.All() {
		e, err := decodeEntry(data)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", h.Name, v, err)
		}
		entries = append(entries, e)
		size += len(v) + len(e.Full) + len(base) + 48
	}
	esc := jsonStringBody(base)
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.Write(head[:len(head)-1])
	if !abbreviated {
		buf.WriteString(`,"time":{"created":"`)
		buf.WriteString(h.Created.UTC().Format(time.RFC3339Nano))
		buf.WriteString(`","modified":"`)
		buf.WriteString(modified)
		buf.WriteByte('"')
		i := 0
		for v := range d.All() {
			buf.WriteByte(',')
			encodeVersionKey(buf, v)
			buf.WriteByte('"')
			buf.WriteString(entries[i].Time)
			buf.WriteByte('"')
			i++
		}
		buf.WriteByte('}')
	}
	buf.WriteString(`,"versions":{`)
	i := 0
	for v := range d.All() {
		if i > 0 {
			buf.WriteByte(',')
		}
		encodeVersionKey(buf, v)
		m := entries[i].Full
		if abbreviated {
			m = entries[i].abbreviated()
		}
		if j := bytes.IndexByte(m, 0); j >= 0 {
			buf.Write(m[:j])
			buf.WriteString(esc)
			buf.Write(m[j+1:])
		} else {
			buf.Write(m)
		}
		if abbreviated {
			buf.WriteByte('}')
		}
		i++
	}
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

// maintainerList renders maintainers as the public registry does.
func maintainerList(names []string) []map[string]string {
	out := make([]map[string]string, len(names))
	for i, n := range names {
		out[i] = map[string]string{"name": n, "email": ""}
	}
	return out
}

// decodeBounded decodes a small JSON request body read by readSmallBody.
func decodeBounded(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(core.ErrInvalidArgument, "invalid JSON body: %v", err)
	}
	return nil
}
