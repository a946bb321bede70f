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
//	└── uploads/
//	    └── <created>-<random>         an upload in flight, deleted when its request ends; <created> is its
//	                                   start, UTC, as 20060102T150405.000000000Z, so that what a crashed
//	                                   process left behind is found by age (CleanUploads)
const (
	rootPrefix     = "composer/"
	packagesPrefix = rootPrefix + "packages/"
	indexPrefix    = rootPrefix + "index/"
	distsPrefix    = rootPrefix + "dists/"
	uploadsPrefix  = rootPrefix + "uploads/"
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
