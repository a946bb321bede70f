// Package cargo serves a private Cargo registry with a sparse index, which
// cargo publishes to, builds from, yanks in, searches and manages owners
// of, unmodified.
//
// Specs: the index format
// (https://doc.rust-lang.org/cargo/reference/registry-index.html) and the
// web API (https://doc.rust-lang.org/cargo/reference/registry-web-api.html).
//
// Endpoints, relative to the base path (default /cargo):
//
//	GET    /config.json                              dl, api, auth-required
//	GET    /1/a, /2/ab, /3/a/abc, /ab/cd/abcd…      a crate's index file (ETag, Last-Modified, 304)
//	PUT    /api/v1/crates/new                        publish (cargo's binary wire format)
//	GET    /api/v1/crates?q=&per_page=&page=         search
//	GET    /api/v1/crates/<name>/<version>/download  the .crate
//	DELETE /api/v1/crates/<name>/<version>/yank      yank; PUT …/unyank undoes it
//	GET    /api/v1/crates/<name>/owners              owners; PUT and DELETE add and remove
//	DELETE /api/v1/crates/<name>/<version>           delete a version (administrators; not cargo's)
//
// cargo is configured in .cargo/config.toml with
//
//	[registries.private]
//	index = "sparse+https://registry.example.com/cargo/"
//
//	[registry]
//	global-credential-providers = ["cargo:token"]
//
// and `cargo login --registry private` with a smartregistry token, which
// cargo then sends bare in Authorization (Bearer works too). Reads need
// that token too (config.json says auth-required: true) unless anonymous
// read is on for cargo; then anonymous requests for config.json and index
// files get 401 with WWW-Authenticate: Cargo, and cargo retries with the
// token.
//
// Scopes are cargo:crate:<name>:read|write|delete, with the crate's name as
// first published. Publishing a new crate makes the publisher its first
// owner; only owners publish new versions, yank and change owners. Names
// equal up to case and "-"/"_" are one crate, whose first spelling wins.
//
// A publish streams the .crate into storage while its sha256 is computed,
// checks that its Cargo.toml names the published crate and version, and
// commits through core.Publish: the crate becomes visible when one
// conditional update of the crate's document lists it. That document is a
// core.EntryDoc whose version lines are the index lines themselves, so an
// index file is their concatenation, cached by the document's ETag.
//
// Search reads a sharded index kept current by publishes, yanks and
// deletes; Handler.RebuildSearchIndex repairs it. Temporary objects a
// crashed publish left are swept after Config.UploadMaxAge.
//
// With upstreams configured (core.Deps.Upstream; each URL a sparse index
// root), crates not held locally are proxied: see upstream.go.
package cargo
