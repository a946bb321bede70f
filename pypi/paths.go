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
//	│       ├── project.json                 the project document, a core.EntryDoc (projectHead, then one line per
//	│       │                                file: its name and fileRecord), changed only through UpdateEntryDoc;
//	│       │                                it outlives the project's files, for the tombstones of deleted file names
//	│       └── project.json.seg/<segment>   its sealed segments (immutable; see core/entrystore.go)
//	├── index/
//	│   └── <normalized-name>                empty; exists while the project has files: /simple/ lists these
//	├── files/
//	│   └── <normalized-name>/
//	│       ├── <object>                     a distribution exactly as uploaded; <object> is its upload's
//	│       │                                core.StageID, unique to one upload, and the document names it:
//	│       │                                only files the document lists are served
//	│       └── <object>.metadata            its core metadata (a wheel's METADATA, an sdist's PKG-INFO)
//	├── upstream/
//	│   └── <normalized-name>/               a project fetched from an upstream (upstream.go)
//	│       ├── simple.json                  its simple page, normalised (upstreamPage), as package upstream
//	│       │                                caches documents (a JSON line, then the body); TTL
//	│       └── files/<filename>[.metadata]  a file, or its core metadata, verified and kept for good
//	└── uploads/
//	    └── <created>-<random>               an upload in flight, deleted when its request ends; <created> is
//	                                         its start, UTC, as 20060102T150405.000000000Z, so that what a
//	                                         crashed process left behind is found by age (CleanUploads)
const (
	rootPrefix     = "pypi/"
	projectsPrefix = rootPrefix + "projects/"
	filesPrefix    = rootPrefix + "files/"
	indexPrefix    = rootPrefix + "index/"
	uploadsPrefix  = rootPrefix + "uploads/"
	upstreamPrefix = rootPrefix + "upstream/"
)

// upstreamPageKey is the cached simple page of a project held upstream.
func upstreamPageKey(project string) string { return path.Join(upstreamPrefix, project, "simple.json") }

// upstreamFileKey is a cached file of a project held upstream.
func upstreamFileKey(project, filename string) string {
	return path.Join(upstreamPrefix, project, "files", filename)
}

// projectKey is the project document of a normalized project name.
func projectKey(project string) string { return path.Join(projectsPrefix, project, "project.json") }

// fileKey is a stored distribution, by its object id (fileRecord.Object).
func fileKey(project, object string) string { return path.Join(filesPrefix, project, object) }

// metadataKey is the core metadata extracted from a stored distribution.
func metadataKey(project, object string) string { return fileKey(project, object) + ".metadata" }

// indexKey marks a project that has files, for the /simple/ index.
func indexKey(project string) string { return indexPrefix + project }

// uploadKey is the temporary object an upload streams into, named by when
// it was created and a random id (core.StageKeyAt).
func uploadKey(created time.Time, id string) string {
	return core.StageKeyAt(uploadsPrefix, created, id)
}

// uploadCreated is the creation time recorded in an upload key; false for
// a key without one.
func uploadCreated(key string) (time.Time, bool) { return core.StagedAt(key) }
