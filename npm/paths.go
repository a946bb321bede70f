package npm

import (
	"path"

	"github.com/google/uuid"
)

// Storage layout of the npm protocol. Every key is built by a function
// below; a scoped name ("@team/app") is two key segments.
//
//	npm/
//	├── packages/
//	│   └── <name>/
//	│       ├── packument.json      the package's document (storedPackument)
//	│       └── -/
//	│           └── <file>.tgz      tarballs, named <basename>-<version>.tgz
//	├── search/
//	│   └── index.json              the search index (searchIndex)
//	└── uploads/
//	    └── <uuid>.tgz              tarballs being received; moved on success
const rootPrefix = "npm/"

// packumentKey is the key of a package's document.
func packumentKey(name string) string {
	return rootPrefix + "packages/" + name + "/packument.json"
}

// tarballKey is the key of one of a package's tarballs.
func tarballKey(name, file string) string {
	return rootPrefix + "packages/" + name + "/-/" + file
}

// searchIndexKey is the key of the search index.
func searchIndexKey() string { return rootPrefix + "search/index.json" }

// uploadKey returns a fresh temporary key for a tarball being received.
func uploadKey() string { return rootPrefix + "uploads/" + uuid.NewString() + ".tgz" }

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
