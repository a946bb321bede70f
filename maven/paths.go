package maven

import (
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// Storage layout of the Maven protocol. Every key is built by a function
// below; nothing else in the package spells a key. Document names start
// with "@", which no groupId, artifactId or version holds, so that they
// never meet a directory of the repository layout.
//
//	maven/
//	├── meta/
//	│   └── <group path>/                   com/example
//	│       ├── @group                      JSON groupDoc: the group's plugins (group-level maven-metadata.xml),
//	│       │                               changed only through UpdateJSON
//	│       └── <artifact>/
//	│           ├── @artifact               the artifact document, a core.EntryDoc (artifactHead, then one line
//	│           │                           per version: versionRecord); artifact-level maven-metadata.xml is
//	│           │                           rendered from it
//	│           └── <version>/
//	│               └── @version            the version document, a core.EntryDoc (versionHead, then one line
//	│                                       per file: its name and fileRecord with size and checksums); only
//	│                                       files it lists are served; SNAPSHOT version-level metadata is
//	│                                       rendered from it
//	├── files/
//	│   └── <group path>/<artifact>/<version>/
//	│       └── <object>                    a file exactly as uploaded; <object> is its upload's core.StageID,
//	│                                       unique to one upload, and the version document names it
//	├── uploads/
//	│   └── <created>-<random>              an upload in flight, moved into files/ or deleted when its request
//	│                                       ends; <created> is its start (core.StageKey), so that what a crashed
//	│                                       process left behind is swept by age; upstream files are staged here
//	│                                       too while they arrive
//	└── upstream/                           what proxying fetched (upstream.go), apart from the local artifacts
//	    ├── meta/<dir>/@metadata            an upstream's maven-metadata.xml of a repository directory, as sent,
//	    │                                   cached by package upstream with the TTL
//	    ├── files/<group path>/<artifact>/<version>/<file>@
//	    │                                   an upstream file, verified against the upstream's checksums, for good
//	    └── sums/<group path>/<artifact>/<version>/<file>@
//	                                        JSON fileSums: the four checksums of that cached file, computed from
//	                                        its bytes when first asked for
//
// The "@" that ends upstream keys is in no Maven path segment, so no file
// name meets a key package upstream puts beside a cached one (<key>.lease).
const (
	rootPrefix     = "maven/"
	metaPrefix     = rootPrefix + "meta/"
	filesPrefix    = rootPrefix + "files/"
	uploadsPrefix  = rootPrefix + "uploads/"
	upstreamPrefix = rootPrefix + "upstream/"

	groupDocName    = "@group"
	artifactDocName = "@artifact"
	versionDocName  = "@version"
)

// groupPath is a groupId as a path: dots become slashes.
func groupPath(group string) string { return strings.ReplaceAll(group, ".", "/") }

// groupKey is the group document of a groupId.
func groupKey(group string) string { return metaPrefix + groupPath(group) + "/" + groupDocName }

// artifactKey is the artifact document.
func artifactKey(group, artifact string) string {
	return metaPrefix + groupPath(group) + "/" + artifact + "/" + artifactDocName
}

// versionKey is the version document.
func versionKey(group, artifact, version string) string {
	return metaPrefix + groupPath(group) + "/" + artifact + "/" + version + "/" + versionDocName
}

// fileKey is a stored file, by its object id (fileRecord.Object).
func fileKey(group, artifact, version, object string) string {
	return filesPrefix + groupPath(group) + "/" + artifact + "/" + version + "/" + object
}

// dirPrefix is the prefix below which the documents of a repository
// directory ("com/example/", "" for the root) are listed.
func dirPrefix(dir string) string { return metaPrefix + dir }

// uploadKey is the temporary object an upload streams into.
func uploadKey(now time.Time) string { return core.StageKey(uploadsPrefix, now) }

// upstreamMetaKey is the cached upstream maven-metadata.xml of a repository
// directory ("com/example/app").
func upstreamMetaKey(dir string) string { return upstreamPrefix + "meta/" + dir + "/@metadata" }

// upstreamFileKey is a cached upstream file.
func upstreamFileKey(c Coordinates) string { return upstreamPrefix + "files/" + c.Path() + "@" }

// upstreamFilesPrefix is the prefix of the cached upstream files of an
// artifact.
func upstreamFilesPrefix(group, artifact string) string {
	return upstreamPrefix + "files/" + groupPath(group) + "/" + artifact + "/"
}

// upstreamSumsKey holds the checksums of a cached upstream file.
func upstreamSumsKey(c Coordinates) string { return upstreamPrefix + "sums/" + c.Path() + "@" }
