package pypi

import (
	"path"
	"strings"
	"time"
)

// Storage layout of the PyPI protocol. Every key is built by a function
// below; nothing else in the package spells a key.
//
//	pypi/
//	├── projects/
//	│   └── <normalized-name>/
//	│       └── project.json                 the project document (projectDoc), changed only through core.UpdateJSON;
//	│                                        it outlives the project's files, for the tombstones of deleted file names
//	├── files/
//	│   └── <normalized-name>/               exists while the project has files: /simple/ lists these folders
//	│       ├── <filename>                   a distribution exactly as uploaded
//	│       └── <filename>.metadata          its core metadata (a wheel's METADATA, an sdist's PKG-INFO)
//	└── uploads/
//	    └── <created>-<random>               an upload in flight, deleted when its request ends; <created> is
//	                                         its start, UTC, as 20060102T150405.000000000Z, so that what a
//	                                         crashed process left behind is found by age (CleanUploads)
const (
	rootPrefix     = "pypi/"
	projectsPrefix = rootPrefix + "projects/"
	filesPrefix    = rootPrefix + "files/"
	uploadsPrefix  = rootPrefix + "uploads/"
)

// projectKey is the project document of a normalized project name.
func projectKey(project string) string { return path.Join(projectsPrefix, project, "project.json") }

// fileKey is a stored distribution.
func fileKey(project, filename string) string { return path.Join(filesPrefix, project, filename) }

// metadataKey is the core metadata extracted from a stored distribution.
func metadataKey(project, filename string) string { return fileKey(project, filename) + ".metadata" }

// uploadTimeLayout spells the creation time in an upload key: fixed width,
// so keys sort by age.
const uploadTimeLayout = "20060102T150405.000000000Z"

// uploadKey is the temporary object an upload streams into, named by when
// it was created and a random id.
func uploadKey(created time.Time, id string) string {
	return uploadsPrefix + created.UTC().Format(uploadTimeLayout) + "-" + id
}

// uploadCreated is the creation time recorded in an upload key; false for
// a key without one.
func uploadCreated(key string) (time.Time, bool) {
	stamp, _, ok := strings.Cut(strings.TrimPrefix(key, uploadsPrefix), "-")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(uploadTimeLayout, stamp)
	return t, err == nil
}
