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
//	└── uploads/
//	    └── <created>-<random>              an upload in flight, moved into files/ or deleted when its request
//	                                        ends; <created> is its start (core.StageKey), so that what a crashed
//	                                        process left behind is swept by age
const (
	rootPrefix    = "maven/"
	metaPrefix    = rootPrefix + "meta/"
	filesPrefix   = rootPrefix + "files/"
	uploadsPrefix = rootPrefix + "uploads/"

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
