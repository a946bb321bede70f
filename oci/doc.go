// Package oci serves the OCI Distribution API v1.1 (container images,
// image indexes, Docker schema 2 manifests and manifest lists, and OCI
// artifacts with the referrers API).
//
// Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
// Token flow: https://distribution.github.io/distribution/spec/auth/token/
//
// The handler is mounted at its base path (default /oci), and the Registry
// also routes /v2 and /v2/... at the host root to it, where every OCI client
// looks. Endpoints:
//
//	GET  /v2/                                       API version check; 401 + Bearer challenge without credentials
//	GET  /token                                     token endpoint (the challenge's realm): Basic, token or anonymous
//	GET|HEAD|PUT|DELETE /v2/<name>/manifests/<ref>  by tag or digest
//	GET|HEAD|DELETE     /v2/<name>/blobs/<digest>   Range supported (416 with Content-Range: bytes */<size>)
//	POST /v2/<name>/blobs/uploads/                  ?digest= (monolithic), ?mount=&from= (cross-repository mount)
//	GET|PATCH|PUT|DELETE /v2/<name>/blobs/uploads/<id>
//	GET  /v2/<name>/tags/list                       ?n=&last=, Link to the next page
//	GET  /v2/<name>/referrers/<digest>              ?artifactType=
//	GET  /v2/_catalog                               ?n=&last=, Link; only the repositories the caller may pull from
//
// Blobs are stored once per digest but are visible in a repository only
// after they were pushed or mounted there. Uploads live in storage (see
// paths.go), so any replica on the same bucket continues an upload.
//
// Permissions are scopes oci:repository:<name>:read|write|delete; the token
// flow's pull, push and delete map to them. A bearer JWT records the scopes
// its request asked for next to those granted, so that an endpoint answers
// a scope never asked for with a 401 challenge naming it, and one refused
// with 403 DENIED (a cross-repository mount falls back to an upload).
//
// The catalog is an index document (see paths.go) added to on a
// repository's first push; it lists to each caller the repositories it may
// pull from. A token asked for "registry:catalog:*" (crane catalog) carries
// listing scopes ("oci:catalog:<pattern>:read") for the holder's read
// scopes, so it lists the same as Basic credentials but pulls nothing.
//
// With upstreams configured (core.Deps.Upstream; each URL a registry host
// such as https://registry-1.docker.io, asked at <URL>/v2/), the handler is
// a pull-through cache: manifests, blobs and tags lists of repositories not
// held locally are fetched from the upstreams, Bearer challenges answered,
// and cached (tags with Config.Upstream.MetadataTTL, content by digest for
// good); see upstream.go.
//
// Clients: crane and skopeo need nothing but credentials, e.g.
//
//	crane auth login registry.example.com -u USER -p PASSWORD
//	skopeo copy --dest-creds USER:PASSWORD oci:dir docker://registry.example.com/team/app:1
//
// (add --insecure or --dest-tls-verify=false for plain http).
package oci
