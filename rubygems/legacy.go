package rubygems

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// specsKind selects one of the legacy index files.
type specsKind int

const (
	specsAll        specsKind = iota // specs.4.8.gz: every release version
	specsLatest                      // latest_specs.4.8.gz: the newest release per gem and platform
	specsPrerelease                  // prerelease_specs.4.8.gz: every prerelease version
)

// specsCache keeps the rendered legacy index files, each valid for one
// /versions record.
type specsCache struct {
	mu    sync.Mutex
	files map[specsKind]specsEntry
}

type specsEntry struct {
	seq  int64
	body []byte
}

// specsIndex serves a legacy index file: a gzipped Marshal 4.8 array of
// [name, Gem::Version, platform], rendered from what /versions lists (so
// it shows the same versions) and cached until /versions changes.
func (h *Handler) specsIndex(kind specsKind) routeFunc {
	return func(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
		if err := h.mayReadIndex(ctx, req); err != nil {
			return nil, err
		}
		var body []byte
		var rerr error
		err := h.versions.withGems(ctx, func(seq int64, gems map[string]*listedGem) {
			h.specs.mu.Lock()
			defer h.specs.mu.Unlock()
			if e, ok := h.specs.files[kind]; ok && e.seq == seq {
				body = e.body
				return
			}
			body, rerr = renderSpecs(kind, gems)
			if rerr == nil {
				if h.specs.files == nil {
					h.specs.files = map[specsKind]specsEntry{}
				}
				h.specs.files[kind] = specsEntry{seq: seq, body: body}
			}
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return nil, err
		}
		return core.BytesResponse(http.StatusOK, "application/octet-stream", body), nil
	}
}

// nameTuple is one entry of a legacy index.
type nameTuple struct{ name, version, platform string }

// renderSpecs renders a legacy index file from what /versions lists.
func renderSpecs(kind specsKind, gems map[string]*listedGem) ([]byte, error) {
	var tuples []nameTuple
	for name, g := range gems {
		latest := map[string]nameTuple{} // by platform
		for _, id := range g.ids {
			version, platform, ok := strings.Cut(id, "-")
			if !ok {
				platform = "ruby"
			}
			t := nameTuple{name, version, platform}
			pre := Prerelease(version)
			switch {
			case kind == specsAll && !pre, kind == specsPrerelease && pre:
				tuples = append(tuples, t)
			case kind == specsLatest && !pre:
				if cur, ok := latest[platform]; !ok || CompareVersions(version, cur.version) > 0 {
					latest[platform] = t
				}
			}
		}
		for _, t := range latest {
			tuples = append(tuples, t)
		}
	}
	slices.SortFunc(tuples, func(a, b nameTuple) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := CompareVersions(a.version, b.version); c != 0 {
			return c
		}
		return strings.Compare(a.platform, b.platform)
	})
	list := make([]any, len(tuples))
	for i, t := range tuples {
		list[i] = []any{t.name, gemVersion(t.version), t.platform}
	}
	raw, err := marshalRuby(list)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gemVersion is a Gem::Version as Marshal dumps it.
func gemVersion(v string) rbUserMarshal {
	return rbUserMarshal{Class: "Gem::Version", Data: []any{v}}
}

// gemRequirement is a Gem::Requirement ("<op> <version>" strings) as
// Marshal dumps it.
func gemRequirement(reqs []string) rbUserMarshal {
	if len(reqs) == 0 {
		reqs = []string{">= 0"}
	}
	list := make([]any, 0, len(reqs))
	for _, r := range reqs {
		op, v, _ := strings.Cut(r, " ")
		list = append(list, []any{op, gemVersion(v)})
	}
	return rbUserMarshal{Class: "Gem::Requirement", Data: []any{list}}
}

// gemPlatform is the platform as a Gem::Specification keeps it: "ruby",
// or a Gem::Platform object (cpu, os, version).
func gemPlatform(p string) any {
	if p == "" || p == "ruby" {
		return "ruby"
	}
	parts := strings.SplitN(p, "-", 3)
	var cpu, os, version any
	switch len(parts) {
	case 1:
		os = parts[0]
	case 2:
		cpu, os = parts[0], parts[1]
	default:
		cpu, os, version = parts[0], parts[1], parts[2]
	}
	return rbObject{Class: "Gem::Platform", IVars: []rbPair{{"@cpu", cpu}, {"@os", os}, {"@version", version}}}
}

// quickSpec renders the Marshal 4.8 dump of a Gem::Specification, as
// quick/Marshal.4.8/<full name>.gemspec.rz holds it before deflating.
func quickSpec(s *Spec) ([]byte, error) {
	deps := make([]any, 0, len(s.Dependencies)+len(s.DevDependencies))
	for _, set := range []struct {
		deps []Dependency
		typ  rbSymbol
	}{{s.Dependencies, "runtime"}, {s.DevDependencies, "development"}} {
		for _, d := range set.deps {
			deps = append(deps, rbObject{Class: "Gem::Dependency", IVars: []rbPair{
				{"@name", d.Name}, {"@requirement", gemRequirement(d.Requirements)}, {"@type", set.typ}, {"@prerelease", false},
			}})
		}
	}
	var date any
	if s.Date != "" {
		date = s.Date
	}
	email := any(nil)
	switch len(s.Email) {
	case 0:
	case 1:
		email = s.Email[0]
	default:
		email = strList(s.Email)
	}
	meta := rbHash{}
	keys := make([]string, 0, len(s.Metadata))
	for k := range s.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		meta = append(meta, rbPair{k, s.Metadata[k]})
	}
	rubygems := s.RubygemsVersion
	if rubygems == "" {
		rubygems = "3.3.15"
	}
	specVersion := s.SpecVersion
	if specVersion == 0 {
		specVersion = 4
	}
	inner, err := marshalRuby([]any{
		rubygems, specVersion, s.Name, gemVersion(s.Version), date, s.Summary,
		gemRequirement(s.RequiredRuby), gemRequirement(s.RequiredRubygems), s.Platform, deps,
		"", email, strList(s.Authors), s.Description, s.Homepage, true, gemPlatform(s.Platform),
		strList(s.Licenses), meta,
	})
	if err != nil {
		return nil, err
	}
	return marshalRuby(rbUserDump{Class: "Gem::Specification", Data: inner})
}

func strList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// quickSpec serves GET /quick/Marshal.4.8/<full name>.gemspec.rz: the
// gem's specification, Marshal-dumped and deflated (zlib), which gem
// install reads before it downloads a gem.
func (h *Handler) quickSpec(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	full, ok := strings.CutSuffix(p["file"], ".gemspec.rz")
	if !ok {
		return nil, fmt.Errorf("%w: %s", core.ErrNotFound, p["file"])
	}
	rec, err := h.findVersion(ctx, req, full)
	if h.proxied(err) {
		return h.upstreamQuickSpec(ctx, req, full)
	}
	if err != nil {
		return nil, err
	}
	raw, err := quickSpec(&rec.Spec)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return core.BytesResponse(http.StatusOK, "application/octet-stream", buf.Bytes()), nil
}

// download serves GET /gems/<full name>.gem, streamed from storage.
func (h *Handler) download(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	full, ok := strings.CutSuffix(p["file"], ".gem")
	if !ok {
		return nil, fmt.Errorf("%w: %s", core.ErrNotFound, p["file"])
	}
	rec, err := h.findVersion(ctx, req, full)
	if h.proxied(err) {
		return h.upstreamDownload(ctx, req, full)
	}
	if err != nil {
		return nil, err
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindArtifact, Package: rec.Name, Version: versionID(rec.Version, rec.Platform)})
	rc, info, err := h.deps.Storage.Get(ctx, fileKey(rec.Name, rec.Object), nil)
	if err != nil {
		return nil, fmt.Errorf("read %s.gem: %w", full, err)
	}
	resp := core.StreamResponse(http.StatusOK, "application/octet-stream", rc, info.Size)
	resp.Header.Set("ETag", `"`+rec.SHA256+`"`)
	return resp, nil
}

// fullNameSplits yields the (name, versionID) pairs a full name
// ("<name>-<version>[-<platform>]") may stand for: names hold "-" too, so
// every split before a digit that leaves a valid name and version.
func fullNameSplits(full string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := 0; i < len(full)-1; i++ {
			if full[i] != '-' || full[i+1] < '0' || full[i+1] > '9' {
				continue
			}
			name, id := full[:i], full[i+1:]
			version, _, _ := strings.Cut(id, "-")
			if ValidateName(name) == nil && ValidateVersion(version) == nil && !yield(name, id) {
				return
			}
		}
	}
}

// findVersion finds the version a full name stands for, not yanked, in a
// gem the caller may read (see fullNameSplits); a caller who may not read
// a candidate gem learns nothing of it, and is refused (rather than told
// "not found") when no other candidate has the version.
func (h *Handler) findVersion(ctx context.Context, req *core.RequestContext, full string) (*versionRecord, error) {
	var refused error
	for name, id := range fullNameSplits(full) {
		if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
			if refused == nil {
				refused = err
			}
			continue
		}
		e, err := h.loadGem(ctx, name)
		if err != nil {
			if core.HTTPStatus(err) == http.StatusNotFound {
				continue
			}
			return nil, err
		}
		rec, err := e.doc.record(id)
		if err != nil {
			return nil, err
		}
		if rec != nil && !rec.Yanked {
			return rec, nil
		}
	}
	if refused != nil {
		return nil, refused
	}
	return nil, fmt.Errorf("%w: %s", core.ErrNotFound, full)
}
