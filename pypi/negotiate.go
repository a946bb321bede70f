package pypi

import (
	"fmt"
	"mime"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// The content types of the simple API (PEP 691).
const (
	ContentTypeJSON       = "application/vnd.pypi.simple.v1+json"
	ContentTypeHTML       = "application/vnd.pypi.simple.v1+html"
	ContentTypeLegacyHTML = "text/html"
	contentTypeLatestJSON = "application/vnd.pypi.simple.latest+json"
	contentTypeLatestHTML = "application/vnd.pypi.simple.latest+html"
)

// apiVersion is the simple API version served (PEP 700).
const apiVersion = "1.1"

// variant is one rendering of a simple API page.
type variant int

const (
	variantHTML variant = iota
	variantJSON
)

// offer is a content type the server can produce, in order of preference
// when a client likes several equally: HTML first, so that clients that
// send no Accept, or */*, get what every client understands.
type offer struct {
	mediaType string
	variant   variant
	// served is the Content-Type of the response.
	served string
}

var offers = []offer{
	{ContentTypeLegacyHTML, variantHTML, "text/html; charset=utf-8"},
	{ContentTypeHTML, variantHTML, ContentTypeHTML},
	{contentTypeLatestHTML, variantHTML, ContentTypeHTML},
	{ContentTypeJSON, variantJSON, ContentTypeJSON},
	{contentTypeLatestJSON, variantJSON, ContentTypeJSON},
}

// negotiate picks the variant of a simple API page and the Content-Type to
// send, from the format query parameter when given (PEP 691's URL
// parameter, which must name one of the types) or else from the Accept
// header with its quality values: the highest q wins, then the most
// specific match (a type named outright over type/* over */*), then the
// server's preference. An Accept naming nothing we serve gets HTML.
func negotiate(accept, format string) (variant, string, error) {
	if format != "" {
		mt, _, err := mime.ParseMediaType(format)
		if err == nil {
			for _, o := range offers {
				if o.mediaType == mt {
					return o.variant, o.served, nil
				}
			}
		}
		return 0, "", fmt.Errorf("%w: format %q is not one of %s, %s, %s", core.ErrInvalidArgument,
			format, ContentTypeJSON, ContentTypeHTML, ContentTypeLegacyHTML)
	}
	if strings.TrimSpace(accept) == "" {
		accept = "*/*"
	}
	ranges := parseAccept(accept)
	best, bestQ, bestSpec := -1, 0.0, -1
	for i, o := range offers {
		q, spec := quality(ranges, o.mediaType)
		if q <= 0 {
			continue
		}
		if q > bestQ || (q == bestQ && spec > bestSpec) {
			best, bestQ, bestSpec = i, q, spec
		}
	}
	if best < 0 {
		best = 0
	}
	return offers[best].variant, offers[best].served, nil
}

// mediaRange is one entry of an Accept header.
type mediaRange struct {
	typ, sub string
	q        float64
}

func parseAccept(accept string) []mediaRange {
	var out []mediaRange
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(part, ";")
		typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mt)), "/")
		if !ok {
			continue
		}
		r := mediaRange{typ: strings.TrimSpace(typ), sub: strings.TrimSpace(sub), q: 1}
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q >= 0 && q <= 1 {
					r.q = q
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// quality is the q the ranges give mediaType, taken from the most specific
// range that matches it, and that specificity (2 exact, 1 type/*, 0 */*;
// -1 when nothing matches).
func quality(ranges []mediaRange, mediaType string) (float64, int) {
	typ, sub, _ := strings.Cut(mediaType, "/")
	q, spec := 0.0, -1
	for _, r := range ranges {
		s := -1
		switch {
		case r.typ == typ && r.sub == sub:
			s = 2
		case r.typ == typ && r.sub == "*":
			s = 1
		case r.typ == "*" && r.sub == "*":
			s = 0
		}
		if s > spec {
			q, spec = r.q, s
		}
	}
	return q, spec
}
