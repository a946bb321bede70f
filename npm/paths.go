package npm

import (
	"fmt"
	"path"
	"strings"

	"time"

	"github.com/smartregistry/smartregistry/core"
)

// Storage layout of the npm protocol. Every key is built by a function
// below; a scoped name ("@team/app") is two key segments.
//
//	npm/
//	├── packages/
//	│   └── <name>/
//	│       ├── packument.json      the package's document (storedPackument, a core.EntryDoc): the head,
//	│       │                       then one line per version naming its tarball's id
//	│       ├── packument.json.seg/
//	│       │   └── <segment>       its sealed segments (immutable; see core/entrystore.go)
//	│       └── -/
//	│           └── <id>            a tarball; <id> is its upload's core.StageID, unique to one publish.
//	│                               Served only while the document lists it (as <basename>-<version>.tgz)
//	├── upstream/
//	│   └── <name>/                 a package fetched from an upstream (see upstream.go)
//	│       ├── packument.json      its upstream packument as fetched, behind one line of cache metadata
//	│       │                       (package upstream); packument.json.lease while a process refreshes it
//	│       └── -/
//	│           └── <file>          a tarball as the upstream served it, verified, kept for good
//	├── search/
//	│   ├── shard-<nn>              the search index in searchShards shards (00…63), each a core.EntryDoc
//	│   │                           with one line per package, in the shard its name hashes to
//	│   └── shard-<nn>.seg/<seg>    a shard's sealed segments
//	└── uploads/
//	    └── <created>-<uuid>        tarballs being received (core.StageKey); moved into place when
//	                                checked, swept by age when a crash left them
const rootPrefix = "npm/"

// keyPrefixes are the beginnings of every key above, which error messages
// must not show (core.HideKeys).
var keyPrefixes = []string{rootPrefix + "packages/", rootPrefix + "search/", rootPrefix + "uploads/", rootPrefix + "upstream/"}

// packumentKey is the key of a package's document.
func packumentKey(name string) string {
	return rootPrefix + "packages/" + name + "/packument.json"
}

// tarballKey is the key of one of a package's tarballs.
func tarballKey(name, file string) string {
	return rootPrefix + "packages/" + name + "/-/" + file
}

// upstreamPackumentKey is the key of the cached upstream packument of a
// package held upstream.
func upstreamPackumentKey(name string) string {
	return rootPrefix + "upstream/" + name + "/packument.json"
}

// upstreamTarballKey is the key of a cached upstream tarball.
func upstreamTarballKey(name, file string) string {
	return rootPrefix + "upstream/" + name + "/-/" + file
}

// escapeName spells a package name as one URL path segment, as clients
// send it ("@scope%2fpkg").
func escapeName(name string) string { return strings.Replace(name, "/", "%2f", 1) }

// searchShardKey is the key of one shard of the search index.
func searchShardKey(i int) string { return fmt.Sprintf("%ssearch/shard-%02d", rootPrefix, i) }

// uploadsPrefix holds the tarballs being received.
const uploadsPrefix = rootPrefix + "uploads/"

// uploadKey returns a fresh temporary key for a tarball being received,
// named by when it started (see core.StageKey).
func uploadKey(now time.Time) string { return core.StageKey(uploadsPrefix, now) }

// tarballFile is the file name of a version's tarball: the name without
// its scope, then the version.
func tarballFile(name, version string) string {
	return path.Base(name) + "-" + version + ".tgz"
}

// tarballPath is the URL path, below the base path, of a version's tarball,
// as the public registry spells it (scoped names unescaped).
func tarballPath(name, version string) string {
	return "/" + name + "/-/" + tarballFile(name, version)
}
