package pypi

import (
	"path"
	"time"

	"github.com/smartregistry/smartregistry/core"
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

// uploadKey is the temporary object an upload streams into, named by when
// it was created and a random id (core.StageKeyAt).
func uploadKey(created time.Time, id string) string {
	return core.StageKeyAt(uploadsPrefix, created, id)
}

// uploadCreated is the creation time recorded in an upload key; false for
// a key without one.
func uploadCreated(key string) (time.Time, bool) { return core.StagedAt(key) }
