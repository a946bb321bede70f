// Package core is the shared vocabulary of smartregistry: the request and
// response types every protocol handler speaks, the error categories that map
// onto HTTP status codes, the storage backend interface with its hook-aware
// [Storage] wrapper, and the authentication core ([AuthProvider],
// [AuthManager], scopes).
//
// Storage backends live in importable subpackages (core/storage/memory,
// core/storage/filesystem, core/storage/s3) and all pass the conformance suite
// in core/storage/storagetest.
package core
