package core

import (
	"fmt"
	"iter"
	"strings"
)

// CheckListing validates the prefix and options of a List call the same way
// for every backend: the prefix must pass [ValidatePrefix] and the
// delimiter must be "" or "/". It returns opts with the default Limit
// filled in.
func CheckListing(prefix string, opts ListOptions) (ListOptions, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return opts, err
	}
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return opts, fmt.Errorf("%w: list delimiter must be \"/\" or empty", ErrInvalidArgument)
	}
	if opts.Limit <= 0 {
		opts.Limit = DefaultListLimit
	}
	return opts, nil
}

// PageOf cuts one listing page out of a sequence of objects, for backends
// that list by scanning (memory, filesystem). objects must yield objects in
// key order, all under prefix and with keys greater than startAfter; PageOf
// stops pulling from it as soon as the page is full and one more entry is
// known to follow, so a backend can produce objects lazily. With delimiter
// "/" keys that have a further "/" after the prefix are folded into common
// prefixes; a common prefix is reported once, where it first sorts, and a
// page never resumes inside a prefix it already reported (a backend may
// therefore yield just one object per common prefix).
func PageOf(objects iter.Seq[ObjectInfo], prefix, delimiter, startAfter string, limit int) ListPage {
	var page ListPage
	n := 0
	for o := range objects {
		k := o.Key
		if delimiter != "" {
			if i := strings.Index(k[len(prefix):], delimiter); i >= 0 {
				cp := k[:len(prefix)+i+len(delimiter)]
				if strings.HasPrefix(startAfter, cp) {
					continue
				}
				if len(page.CommonPrefixes) > 0 && page.CommonPrefixes[len(page.CommonPrefixes)-1] == cp {
					continue
				}
				if n == limit {
					page.NextStartAfter = page.lastEntry()
					return page
				}
				page.CommonPrefixes = append(page.CommonPrefixes, cp)
				n++
				continue
			}
		}
		if n == limit {
			page.NextStartAfter = page.lastEntry()
			return page
		}
		page.Objects = append(page.Objects, o)
		n++
	}
	return page
}

// lastEntry is the greatest key or prefix in the page; resuming after it
// continues the listing. A common prefix is resumed after everything it
// holds by appending the highest code point, which is valid UTF-8 (S3
// refuses anything else) and sorts after every other character.
func (p *ListPage) lastEntry() string {
	last := ""
	if len(p.Objects) > 0 {
		last = p.Objects[len(p.Objects)-1].Key
	}
	if len(p.CommonPrefixes) > 0 {
		if cp := p.CommonPrefixes[len(p.CommonPrefixes)-1]; cp > last {
			last = cp + maxRune
		}
	}
	return last
}

// maxRune, appended to a common prefix, makes a StartAfter that skips
// everything under it.
const maxRune = "\U0010FFFF"
