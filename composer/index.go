package composer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// indexEntry is the content of a package's marker under composer/index/.
type indexEntry struct {
	Description string `json:"description,omitempty"`
	Type        string `json:"type,omitempty"`
}

// maxMarker bounds a marker read back (a description of a few KiB).
const maxMarker = 64 << 10

// indexCache keeps the list of packages (the markers' names and ETags)
// for Config.IndexTTL, and the markers' contents by ETag. Uploads and
// deletes through this handler invalidate the list.
type indexCache struct {
	mu      sync.Mutex
	at      time.Time
	markers []core.ObjectInfo
	entries map[string]cachedMarker // by package name
}

type cachedMarker struct {
	etag  string
	entry indexEntry
}

func (c *indexCache) invalidate() {
	c.mu.Lock()
	c.at = time.Time{}
	c.mu.Unlock()
}

// packageList returns the markers of all packages with versions, sorted
// by name: from the cache when it is younger than IndexTTL, else one
// listing of composer/index/.
func (h *Handler) packageList(ctx context.Context) ([]core.ObjectInfo, error) {
	c := h.index
	c.mu.Lock()
	if !c.at.IsZero() && h.cfg.IndexTTL > 0 && time.Since(c.at) < h.cfg.IndexTTL {
		defer c.mu.Unlock()
		return c.markers, nil
	}
	c.mu.Unlock()
	started := time.Now()
	var markers []core.ObjectInfo
	if err := h.deps.Storage.Walk(ctx, indexPrefix, func(o core.ObjectInfo) error {
		if ValidateName(nameOfIndexKey(o.Key)) == nil {
			markers = append(markers, o)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || started.After(c.at) {
		c.at, c.markers = started, markers
	}
	return markers, nil
}

// readableNames lists the packages the caller may read; the caller must
// be identified, unless anonymous reads are on.
func (h *Handler) readableNames(ctx context.Context, req *core.RequestContext) ([]core.ObjectInfo, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if p == nil && !h.deps.Auth.AnonymousRead(core.ProtocolComposer) {
		return nil, fmt.Errorf("%w: the repository needs credentials", core.ErrUnauthorized)
	}
	markers, err := h.packageList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]core.ObjectInfo, 0, len(markers))
	for _, o := range markers {
		if h.deps.Auth.Allowed(ctx, p, packageScope(nameOfIndexKey(o.Key), core.ActionRead)) {
			out = append(out, o)
		}
	}
	return out, nil
}

// rootFile is packages.json for composer 2.
type rootFile struct {
	MetadataURL       string   `json:"metadata-url"`
	AvailablePackages []string `json:"available-packages,omitempty"`
	Search            string   `json:"search"`
	List              string   `json:"list"`
}

// packagesJSON serves GET /packages.json: where the metadata files are,
// and the packages the caller may read (so that composer asks this
// repository only about those).
func (h *Handler) packagesJSON(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	markers, err := h.readableNames(ctx, req)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(markers))
	for i, o := range markers {
		names[i] = nameOfIndexKey(o.Key)
	}
	if h.up != nil {
		names = nil // composer must ask about any package: the upstreams may have it
	}
	resp := core.JSONResponse(200, rootFile{
		MetadataURL: req.BaseURL + "/p2/%package%.json", AvailablePackages: names,
		Search: req.BaseURL + "/search.json?q=%query%&type=%type%", List: req.BaseURL + "/packages/list.json",
	})
	resp.Header.Set("Cache-Control", "no-cache")
	return resp, nil
}

// list serves GET /packages/list.json[?filter=<glob>&vendor=&type=] as
// Packagist does: {"packageNames":[...]}.
func (h *Handler) list(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	markers, err := h.readableNames(ctx, req)
	if err != nil {
		return nil, err
	}
	filter, err := globPattern(req.Query.Get("filter"))
	if err != nil {
		return nil, err
	}
	vendor, typ := strings.ToLower(req.Query.Get("vendor")), req.Query.Get("type")
	names := []string{}
	for _, o := range markers {
		name := nameOfIndexKey(o.Key)
		if (filter != nil && !filter.MatchString(name)) || (vendor != "" && !strings.HasPrefix(name, vendor+"/")) {
			continue
		}
		if typ != "" {
			e, err := h.marker(ctx, o)
			if err != nil {
				return nil, err
			}
			if e.Type != typ {
				continue
			}
		}
		names = append(names, name)
	}
	return core.JSONResponse(200, map[string][]string{"packageNames": names}), nil
}

// globPattern turns a list.json filter ("acme/*") into a case-insensitive
// pattern; "" is no filter.
func globPattern(glob string) (*regexp.Regexp, error) {
	if glob == "" {
		return nil, nil
	}
	if len(glob) > maxNameLen {
		return nil, fmt.Errorf("%w: filter is too long", core.ErrInvalidArgument)
	}
	parts := strings.Split(glob, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("(?i)^" + strings.Join(parts, ".*") + "$"), nil
}

// searchResult is one hit of search.json, in Packagist's shape.
type searchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Repository  string `json:"repository"`
	Downloads   int    `json:"downloads"`
	Favers      int    `json:"favers"`
}

// search serves GET /search.json?q=&type= as Packagist does: the packages
// whose name or description holds every word of q (case-insensitive), of
// the given type if any.
func (h *Handler) search(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	markers, err := h.readableNames(ctx, req)
	if err != nil {
		return nil, err
	}
	q := req.Query.Get("q")
	if len(q) > 1000 {
		return nil, fmt.Errorf("%w: query is too long", core.ErrInvalidArgument)
	}
	words := strings.Fields(strings.ToLower(q))
	typ := req.Query.Get("type")
	results := []searchResult{}
	for _, o := range markers {
		name := nameOfIndexKey(o.Key)
		e, err := h.marker(ctx, o)
		if err != nil {
			return nil, err
		}
		text := name + "\n" + strings.ToLower(e.Description)
		if (typ != "" && e.Type != typ) || slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(text, w) }) {
			continue
		}
		results = append(results, searchResult{Name: name, Description: e.Description, URL: req.BaseURL + "/p2/" + name + ".json"})
	}
	return core.JSONResponse(200, map[string]any{"results": results, "total": len(results)}), nil
}

// marker returns the content of a package's marker, cached by its ETag.
// A marker gone since it was listed reads as empty.
func (h *Handler) marker(ctx context.Context, o core.ObjectInfo) (indexEntry, error) {
	name := nameOfIndexKey(o.Key)
	c := h.index
	c.mu.Lock()
	if m, ok := c.entries[name]; ok && m.etag == o.ETag && o.ETag != "" {
		c.mu.Unlock()
		return m.entry, nil
	}
	c.mu.Unlock()
	rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindIndex), o.Key, nil)
	if errors.Is(err, core.ErrNotFound) {
		return indexEntry{}, nil
	}
	if err != nil {
		return indexEntry{}, fmt.Errorf("read index of %s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMarker))
	if err != nil {
		return indexEntry{}, fmt.Errorf("read index of %s: %w", name, err)
	}
	var e indexEntry
	_ = json.Unmarshal(b, &e) // an unreadable marker still lists the package
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cachedMarker{}
	}
	c.entries[name] = cachedMarker{etag: info.ETag, entry: e}
	c.mu.Unlock()
	return e, nil
}

// RebuildIndex makes the markers agree with the package documents: one
// for every package with versions, none for the others. Uploads and
// deletes keep them up to date; this repairs them after a crash between a
// publish and its marker's write. It reads every package document.
func (h *Handler) RebuildIndex(ctx context.Context) error {
	ctx = core.WithKind(ctx, core.KindIndex)
	defer h.index.invalidate()
	return h.deps.Storage.Walk(ctx, packagesPrefix, func(o core.ObjectInfo) error {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, packagesPrefix), "/package.json")
		if !ok {
			return nil
		}
		ed, _, err := core.GetEntryDoc[packageHead](ctx, h.deps.Storage, o.Key)
		if err != nil {
			return fmt.Errorf("composer: rebuild index: %w", err)
		}
		if ed.Len() == 0 {
			if err := h.deps.Storage.Delete(ctx, indexKey(name)); err != nil && !errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("composer: rebuild index: %w", err)
			}
			return nil
		}
		_, err = h.deps.Storage.Stat(ctx, indexKey(name))
		if !errors.Is(err, core.ErrNotFound) {
			return err
		}
		e := ed.Head.Indexed
		b, _ := json.Marshal(e)
		_, err = h.deps.Storage.Put(ctx, indexKey(name), bytes.NewReader(b), int64(len(b)), core.PutOptions{ContentType: "application/json"})
		return err
	})
}
