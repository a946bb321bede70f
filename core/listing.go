package core

import "strings"

// PageOf cuts one listing page out of sorted keys, for backends that list by
// scanning (memory, filesystem). keys must be sorted, all under prefix and
// greater than startAfter; infos describes them. With delimiter "/" keys that
// have a further "/" after the prefix are folded into common prefixes; a
// common prefix is reported once, where it first sorts, and a page never
// resumes inside a prefix it already reported.
func PageOf(keys []string, infos map[string]ObjectInfo, prefix, delimiter, startAfter string, limit int) ListPage {
	var page ListPage
	n := 0
	for _, k := range keys {
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
		page.Objects = append(page.Objects, infos[k])
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
