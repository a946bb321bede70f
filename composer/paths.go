package composer

import (
	"path"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// Storage layout of the Composer protocol. Every key is built by a function
// below; nothing else in the package spells a key.
//
//	composer/
//	├── packages/
//	│   └── <vendor>/<package>/
//	│       └── package.json           the package document, a core.EntryDoc (packageHead, then one line per
//	│                                  version: its normalized version and versionRecord), changed only through
//	│                                  UpdateEntryDoc; /p2/ files are rendered from it on read
//	├── index/
//	│   └── <vendor>/<package>         a small marker (indexEntry: description, type) that exists while the
//	│                                  package has versions: packages.json, list.json and search.json list these
//	├── dists/
//	│   └── <vendor>/<package>/
//	│       └── <object>.zip           a zip exactly as uploaded; <object> is its upload's core.StageID,
//	│                                  unique to one upload, and the document names it: only zips the
//	│                                  document lists are served
//	├── uploads/
//	│   └── <created>-<random>         an upload in flight, deleted when its request ends; <created> is its
//	│                                  start, UTC, as 20060102T150405.000000000Z, so that what a crashed
//	│                                  process left behind is found by age (CleanUploads); also where
//	│                                  upstream zips are staged while they arrive
//	└── upstream/                      what proxying fetched (upstream.go), written by package upstream
//	    ├── root/<set>.json            the packages.json of the upstreams of a name, <set> a digest of their
//	    │                              URLs (for metadata-url), with the TTL
//	    ├── p2/<vendor>/<package>.json an upstream /p2/ file as sent (and ~dev.json), with the TTL
//	    └── dists/<vendor>/<package>/
//	        └── <token>.zip            an upstream zip, verified, for good; <token> is its dist.reference
const (
	rootPrefix     = "composer/"
	packagesPrefix = rootPrefix + "packages/"
	indexPrefix    = rootPrefix + "index/"
	distsPrefix    = rootPrefix + "dists/"
	uploadsPrefix  = rootPrefix + "uploads/"
	upstreamPrefix = rootPrefix + "upstream/"
)

// packageKey is the document of a package ("vendor/name", lower case).
func packageKey(name string) string { return path.Join(packagesPrefix, name, "package.json") }

// indexKey marks a package that has versions.
func indexKey(name string) string { return indexPrefix + name }

// nameOfIndexKey returns the package name a marker key stands for.
func nameOfIndexKey(key string) string { return strings.TrimPrefix(key, indexPrefix) }

// distKey is a stored zip, by its object id (versionRecord.Object).
func distKey(name, object string) string { return path.Join(distsPrefix, name, object+".zip") }

// uploadKey is the temporary object an upload streams into.
func uploadKey(created time.Time, id string) string {
	return core.StageKeyAt(uploadsPrefix, created, id)
}

// upstreamRootKey is the cached packages.json of a set of upstreams.
func upstreamRootKey(set string) string { return upstreamPrefix + "root/" + set + ".json" }

// upstreamFileKey is a cached upstream /p2/ file (~dev when dev).
func upstreamFileKey(name string, dev bool) string {
	if dev {
		return upstreamPrefix + "p2/" + name + "~dev.json"
	}
	return upstreamPrefix + "p2/" + name + ".json"
}

// upstreamDistKey is a cached upstream zip.
func upstreamDistKey(name, token string) string {
	return upstreamPrefix + "dists/" + name + "/" + token + ".zip"
}
