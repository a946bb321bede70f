// Package npm serves the npm registry protocol: what the npm CLI (and yarn,
// pnpm) speaks to install, publish, unpublish, deprecate, tag and search
// packages, plus the user, token and audit endpoints the CLI calls.
//
// Specs followed: the registry API as documented in
// https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md, the
// abbreviated metadata format of
// https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md,
// and, where those are silent, what npm 11 (libnpmpublish, npm-profile,
// npm-registry-fetch) sends and expects.
//
// Client configuration, with the handler mounted at /npm:
//
//	registry=http://127.0.0.1:8080/npm/
//	//127.0.0.1:8080/npm/:_authToken=<token>
//
// A token comes from the registry's administrator, from "npm login
// --auth-type=legacy" (user name and password of a configured user) or from
// "npm token create". Scoped packages can be sent here alone with
// "@team:registry=http://127.0.0.1:8080/npm/".
//
// Permissions are scopes of the form npm:package:<name>:<action>, where the
// name may be a glob such as "@team/*": read to install, write to publish,
// tag and deprecate, delete to unpublish.
//
// Nothing is lost under concurrency: every change of a package's document
// (its packument) is a conditional read-modify-write through
// [core.UpdateEntryDoc], so concurrent publishes of different versions, also
// through several registry processes sharing one bucket, all land.
//
// Publishing follows the commit protocol of [core.Publish]: the tarball
// moves from its upload key to a key of its own, and the document's update
// lists it; only listed tarballs are served. The same tarball published
// again (a retry whose first answer was lost) succeeds; other bytes under
// a published version are refused. A publish decodes only the document's
// head and copies the other versions' lines, and versions are stored with
// their served forms, so neither a publish nor the first read after it
// grows costly as a package grows.
//
// With upstreams configured (core.Deps.Upstream, see package upstream), a
// package not held here is fetched from them and cached: its packument for
// Config.Upstream.MetadataTTL, served with tarball URLs pointing here, its
// tarballs for good, each checked against the packument's integrity as it
// streams to the client. See upstream.go.
package npm
