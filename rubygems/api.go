package rubygems

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// maxForm bounds the form body of yank and unyank.
const maxForm = 64 << 10

// yank serves DELETE /api/v1/gems/yank (gem yank): form fields gem_name,
// version and platform. The version leaves /info and gains a "-<version>"
// in /versions; its file is no longer served.
func (h *Handler) yank(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	return h.changeYank(ctx, req, true)
}

// unyank serves PUT /api/v1/gems/unyank: the same form; the version is
// served again.
func (h *Handler) unyank(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	return h.changeYank(ctx, req, false)
}

func (h *Handler) changeYank(ctx context.Context, req *core.RequestContext, yanked bool) (*core.Response, error) {
	form, err := readForm(req)
	if err != nil {
		return nil, err
	}
	name, version, platform := form.Get("gem_name"), form.Get("version"), form.Get("platform")
	if platform == "" {
		platform = "ruby"
	}
	for _, err := range []error{ValidateName(name), ValidateVersion(version), ValidatePlatform(platform)} {
		if err != nil {
			return nil, err
		}
	}
	action := core.ActionDelete
	if !yanked {
		action = core.ActionWrite
	}
	if _, err := h.authorize(ctx, req, name, action); err != nil {
		return nil, err
	}
	id := versionID(version, platform)
	if err := h.setYanked(ctx, name, id, yanked); err != nil {
		return nil, err
	}
	if err := h.syncVersions(ctx, name); err != nil {
		return nil, err
	}
	msg := "Successfully deleted gem: %s (%s)\n"
	if !yanked {
		msg = "Successfully reinstated gem: %s (%s)\n"
	}
	return core.BytesResponse(http.StatusOK, "text/plain; charset=utf-8", []byte(fmt.Sprintf(msg, name, id))), nil
}

// readForm reads the form-urlencoded body (bounded) and the query.
func readForm(req *core.RequestContext) (url.Values, error) {
	form := url.Values{}
	for k, v := range req.Query {
		form[k] = v
	}
	if req.Body == nil {
		return form, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxForm+1))
	if err != nil {
		return nil, reqbody.ReadError(err)
	}
	if len(b) > maxForm {
		return nil, fmt.Errorf("%w: the form is over %d bytes", core.ErrTooLarge, maxForm)
	}
	vals, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w: malformed form: %v", core.ErrInvalidArgument, err)
	}
	for k, v := range vals {
		form[k] = v
	}
	return form, nil
}

// apiVersion is one entry of /api/v1/versions/<gem>.json.
type apiVersion struct {
	Number          string            `json:"number"`
	Platform        string            `json:"platform"`
	Prerelease      bool              `json:"prerelease"`
	CreatedAt       time.Time         `json:"created_at"`
	SHA             string            `json:"sha"`
	Summary         string            `json:"summary"`
	Description     string            `json:"description"`
	Authors         string            `json:"authors"`
	Licenses        []string          `json:"licenses"`
	RubyVersion     string            `json:"ruby_version,omitempty"`
	RubygemsVersion string            `json:"rubygems_version,omitempty"`
	Metadata        map[string]string `json:"metadata"`
}

// versionsJSON serves GET /api/v1/versions/<gem>.json: the versions not
// yanked, newest first.
func (h *Handler) versionsJSON(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	_, recs, err := h.servedRecords(ctx, req, p)
	if err != nil {
		return nil, err
	}
	out := make([]apiVersion, 0, len(recs))
	for _, r := range slices.Backward(recs) {
		out = append(out, apiVersion{Number: r.Version, Platform: r.Platform, Prerelease: Prerelease(r.Version),
			CreatedAt: r.Pushed, SHA: r.SHA256, Summary: r.Summary, Description: r.Description,
			Authors: strings.Join(r.Authors, ", "), Licenses: nonNil(r.Licenses),
			RubyVersion: strings.Join(r.RequiredRuby, ", "), RubygemsVersion: strings.Join(r.RequiredRubygems, ", "),
			Metadata: nonNilMap(r.Metadata)})
	}
	slices.SortStableFunc(out, func(a, b apiVersion) int { return -CompareVersions(a.Number, b.Number) })
	return core.JSONResponse(http.StatusOK, out), nil
}

// apiDependency is one dependency in /api/v1/gems/<gem>.json.
type apiDependency struct {
	Name         string `json:"name"`
	Requirements string `json:"requirements"`
}

// gemJSON serves GET /api/v1/gems/<gem>.json: the newest version (not a
// prerelease when there is another) and its dependencies.
func (h *Handler) gemJSON(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, recs, err := h.servedRecords(ctx, req, p)
	if err != nil {
		return nil, err
	}
	latest := recs[0]
	for _, r := range recs[1:] {
		lp, rp := Prerelease(latest.Version), Prerelease(r.Version)
		if (lp && !rp) || (lp == rp && CompareVersions(r.Version, latest.Version) > 0) {
			latest = r
		}
	}
	deps := func(ds []Dependency) []apiDependency {
		out := []apiDependency{}
		for _, d := range ds {
			out = append(out, apiDependency{Name: d.Name, Requirements: strings.Join(d.Requirements, ", ")})
		}
		return out
	}
	return core.JSONResponse(http.StatusOK, map[string]any{
		"name": name, "version": latest.Version, "platform": latest.Platform, "authors": strings.Join(latest.Authors, ", "),
		"info": latest.Description, "summary": latest.Summary, "licenses": nonNil(latest.Licenses),
		"metadata": nonNilMap(latest.Metadata), "sha": latest.SHA256, "homepage_uri": latest.Homepage,
		"project_uri": req.BaseURL + "/gems/" + name, "gem_uri": req.BaseURL + "/gems/" + latest.FullName() + ".gem",
		"version_created_at": latest.Pushed,
		"dependencies":       map[string]any{"runtime": deps(latest.Dependencies), "development": deps(latest.DevDependencies)},
	}), nil
}

// servedRecords reads the versions of the gem named by the {gem} wildcard
// that are not yanked, after checking the caller may read it; a gem with
// none is ErrNotFound.
func (h *Handler) servedRecords(ctx context.Context, req *core.RequestContext, p route.Params) (string, []versionRecord, error) {
	name := p["gem"]
	if err := ValidateName(name); err != nil {
		return "", nil, fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return "", nil, err
	}
	e, err := h.loadGem(ctx, name)
	if err != nil {
		return "", nil, err
	}
	recs, err := e.doc.records()
	if err != nil {
		return "", nil, fmt.Errorf("read gem %s: %w", name, err)
	}
	recs = slices.DeleteFunc(recs, func(r versionRecord) bool { return r.Yanked })
	if len(recs) == 0 {
		return "", nil, fmt.Errorf("%w: gem %s has no versions", core.ErrNotFound, name)
	}
	return name, recs, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
