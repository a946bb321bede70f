// Package pypi serves Python packages: the simple repository API that pip,
// uv and poetry read, the legacy upload API that twine speaks, the JSON
// API, downloads, and yank and delete.
//
// # Endpoints
//
// Paths are relative to the base path (default /pypi).
//
//	GET    /simple/                          all projects the caller may read (PEP 503 HTML or PEP 691 JSON)
//	GET    /simple/<project>/                a project's files (PEP 503, 592, 658, 691, 700, 714)
//	POST   /                                 upload, multipart/form-data with :action=file_upload (twine)
//	GET    /packages/<project>/<filename>    a distribution, streamed with Content-Length
//	GET    /packages/<project>/<filename>.metadata   its core metadata (PEP 658)
//	GET    /<project>/json                   JSON API: latest release's info, all releases
//	GET    /<project>/<version>/json         JSON API: one release
//	PUT    /<project>/<version>/yank         yank a release; reason as {"reason": "..."} or ?reason=
//	DELETE /<project>/<version>/yank         unyank a release
//	DELETE /<project>/<version>              delete a release (all its files)
//	DELETE /packages/<project>/<filename>    delete one file
//
// Yank, unyank and the deletes answer JSON: {"project", "version", "yanked",
// "yanked_reason"} and {"project", "deleted": [filenames]}. Errors are plain
// text "<status> <message>".
//
// The simple API's variant is chosen by the Accept header with quality
// values (PEP 691): application/vnd.pypi.simple.v1+json,
// application/vnd.pypi.simple.v1+html or text/html (also the ".latest"
// spellings); ?format=<content type> overrides Accept. With no Accept, or
// */*, HTML is served. Content-Type names the variant served; both carry
// api-version 1.1. Project names are normalized as PEP 503 says; a
// request for /simple/My_Pkg/ is redirected (301) to /simple/my-pkg/, and
// uploads of My_Pkg and my-pkg are one project. File links are relative
// (../../packages/...), carry #sha256=, data-requires-python, data-yanked,
// and data-core-metadata and data-dist-info-metadata with the metadata
// file's hash, for wheels and for sdists whose PKG-INFO is Metadata-Version
// 2.2 or later and leaves none of Name, Version, Requires-Dist,
// Requires-Python and Provides-Extra Dynamic (PEP 643); the JSON variant
// says the same with hashes, requires-python, yanked, core-metadata, size,
// upload-time and the project's versions, but not dist-info-metadata,
// which PEP 714 keeps out of JSON (pip 23.0, Debian 12's, crashes on it). A
// project whose files were all deleted is gone from /simple/, and its
// pages and JSON API answer 404.
//
// # Uploads
//
// The body is parsed as a stream; the file part goes to a temporary key
// while its SHA-256, MD5 and BLAKE2b-256 are computed. The digests the
// client sent (sha256_digest, md5_digest, blake2_256_digest) must match.
// The core metadata (a wheel's *.dist-info/METADATA, read through ranged
// reads; an sdist's PKG-INFO) must name the same project and version as the
// file name and the form. A file name is accepted once: as on PyPI, the
// same file again (same SHA-256) is a retry and succeeds without changing
// anything, other bytes under it are 400 "File already exists", which is
// what twine --skip-existing looks for; and a file name that was deleted
// cannot be uploaded again (400 "This filename has already been used, use
// a different version"): the project document keeps its tombstone.
//
// Uploads follow the commit protocol of core.Publish: the file moves from
// its temporary key to a key of its own (never copied), and one
// conditional update of the project document lists it; only listed files
// are served, and a crash or a lost answer at any step leaves nothing
// half-visible. The document is a core.EntryDoc whose upload decodes only
// its head, so concurrent uploads of different files all land, at a cost
// that does not grow with the number of files. The pages an upload changes
// are rendered in the background once a burst of uploads has settled
// (100 ms), so that the first read after an upload is a cache hit.
//
// Refusals that come before the file is read (credentials, permission, a
// name taken) first read and discard the rest of the body, up to 64 MiB,
// because twine sends its whole body before it reads the answer and would
// otherwise see a connection reset; a larger rest is answered with
// Connection: close. Temporary upload objects left behind by a crashed
// process are removed once older than Config.UploadMaxAge (1h), by a sweep
// that uploads start in the background at most every
// Config.UploadCleanupInterval (10m); Handler.Close stops it.
//
// # Upstream proxy
//
// With core.Deps.Upstream set, a project held nowhere here is fetched from
// the upstreams (the base above their /simple/): its page is cached with
// the TTL of Config.Upstream and served with every file URL pointing here,
// hashes and core metadata keys kept; files and their .metadata are
// fetched on first download, verified against the page's hashes and
// cached for good. The JSON API of such a project is built from its page
// (upstreamjson.go). The /simple/ root index lists the projects held here
// only, not those fetched from the upstreams: it would otherwise list
// whatever someone happened to ask for, neither this registry's projects
// nor the upstream's, and pip never reads it. See upstream.go.
//
// # Auth
//
// HTTP Basic, as pip and twine send it: user "__token__" with a token as
// password, or a user and password. Scopes are
// pypi:package:<normalized-name>:read|write|delete; uploading and yanking
// need write, deleting needs delete. Anonymous reads are allowed when the
// registry's AnonymousRead lists pypi. A 401 carries
// WWW-Authenticate: Basic realm="pypi".
//
// # Clients
//
//	twine upload --repository-url https://HOST/pypi/ -u __token__ -p TOKEN dist/*
//	pip install --index-url https://__token__:TOKEN@HOST/pypi/simple/ PACKAGE
//
// or in pip.conf: [global] index-url = https://__token__:TOKEN@HOST/pypi/simple/
//
// Specifications: https://peps.python.org/pep-0503/, pep-0592, pep-0658,
// pep-0691, pep-0700, pep-0714, pep-0440 (versions), pep-0427 (wheel
// names), and https://docs.pypi.org/api/ (JSON and upload APIs).
package pypi
