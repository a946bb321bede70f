package pypi

import "path"

// Storage layout of the PyPI protocol. Every key is built by a function
// below; nothing else in the package spells a key.
//
//	pypi/
//	├── projects/
//	│   └── <normalized-name>/
//	│       ├── project.json             the project document (projectDoc), changed only through core.UpdateJSON
//	│       └── files/
//	│           ├── <filename>           a distribution exactly as uploaded
//	│           └── <filename>.metadata  its core metadata (a wheel's METADATA, an sdist's PKG-INFO)
//	└── uploads/
//	    └── <random>                     an upload in flight, deleted when the request ends
const (
	rootPrefix     = "pypi/"
	projectsPrefix = rootPrefix + "projects/"
	uploadsPrefix  = rootPrefix + "uploads/"
)

// projectKey is the project document of a normalized project name.
func projectKey(project string) string { return path.Join(projectsPrefix, project, "project.json") }

// fileKey is a stored distribution.
func fileKey(project, filename string) string {
	return path.Join(projectsPrefix, project, "files", filename)
}

// metadataKey is the core metadata extracted from a stored distribution.
func metadataKey(project, filename string) string { return fileKey(project, filename) + ".metadata" }

// uploadKey is the temporary object an upload streams into.
func uploadKey(id string) string { return uploadsPrefix + id }
