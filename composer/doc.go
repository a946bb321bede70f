// Package composer serves a Composer v2 repository, a private Packagist
// (https://getcomposer.org/doc/05-repositories.md#composer), that composer
// installs from unmodified.
//
// # Endpoints
//
// Relative to the base path (/composer in the example server):
//
//	GET    /packages.json                          metadata-url, available-packages, search, list
//	GET    /p2/<vendor>/<package>.json             tagged releases, minified composer/2.0
//	GET    /p2/<vendor>/<package>~dev.json         dev versions (branches), minified composer/2.0
//	GET    /packages/list.json?filter=acme/*       {"packageNames":[...]}; also vendor= and type=
//	GET    /search.json?q=&type=                   Packagist's {"results":[...],"total":N}
//	GET    /dists/<vendor>/<package>/<sha1>.zip    a version's zip
//	PUT    /packages/<vendor>/<package>?version=   upload a zip
//	DELETE /packages/<vendor>/<package>            delete the package
//	DELETE /packages/<vendor>/<package>/<version>  delete one version
//
// The /p2/ files carry Last-Modified and answer 304 to If-Modified-Since,
// as composer asks on every run. They are rendered on read from the
// package document (one line per version) and cached by the document's
// ETag, so that an upload writes one line and not a file that grows with
// the versions; a rendering after an upload decodes only the new version.
//
// # Uploads
//
// composer cannot publish: upload the zip of a package (what `composer
// archive --format=zip` or `git archive` makes) with any HTTP client:
//
//	curl -u user:token -T acme-util-1.0.0.zip 'http://127.0.0.1:8080/composer/packages/acme/util?version=1.0.0'
//
// The zip must hold composer.json at its root or in its one top folder,
// naming the package of the URL. The version is ?version= when given (it
// wins over composer.json), else composer.json's "version"; it is
// normalized as Composer does ("1.2.3" → "1.2.3.0", "1.x-dev" →
// "1.9999999.9999999.9999999-dev", "dev-main"). Versions that are branches
// ("dev-…", "…-dev") go to the ~dev file. The metadata of a version is
// composer.json's fields (require, autoload, license, …; not the
// root-only ones such as repositories, config and scripts) plus name,
// version, version_normalized, time and dist {type: zip, url, reference,
// shasum}, where reference and shasum are the zip's sha1. A second upload
// of a version is refused with 409, unless it is the same zip (a retry,
// which succeeds); a deleted version may be uploaded again.
//
// Zips are checked before anything is listed: an entry with "..", an
// absolute name or a symbolic link refuses the upload, as do too many
// entries, and composer.json is read with bounds on its size and on its
// compression ratio. Every refusal is a 4xx with
// {"status":"error","message":"…"} and leaves nothing stored.
//
// # Client configuration
//
// In the project's composer.json:
//
//	{
//	    "repositories": [
//	        {"type": "composer", "url": "http://127.0.0.1:8080/composer"},
//	        {"packagist.org": false}
//	    ],
//	    "config": {"secure-http": false}
//	}
//
// and credentials in auth.json (HTTP Basic with a token as the password,
// keyed by host:port, or a bearer token):
//
//	{"http-basic": {"127.0.0.1:8080": {"username": "token", "password": "<token>"}}}
//	{"bearer": {"127.0.0.1:8080": "<token>"}}
//
// A 401 carries WWW-Authenticate: Basic realm="composer". Scopes are
// composer:package:<vendor>/<package>:read|write|delete.
//
// # Storage and crashes
//
// The layout is drawn in paths.go. An upload follows core.Publish: the
// zip is staged while its sha1 is computed, moved to a key of its own, and
// becomes visible only when one conditional update of the package
// document lists it; a crash between any two steps leaves nothing
// visible, and the retry succeeds. packages.json, list.json and
// search.json list one small marker object per package, written by its
// first upload and when its description or type change (no document
// shared by all packages is written on upload); the list is cached for
// Config.IndexTTL. A crash between a package's first publish and its
// marker leaves it out of those lists, not out of its /p2/ files, until
// a retry of the upload or RebuildIndex.
//
// # Proxying
//
// With upstreams configured (core.Deps.Upstream, Config.Upstream), a
// package not held here is fetched from them: its /p2/ files cached with
// a TTL and served with dist.url pointing here, its zips verified against
// dist.shasum and cached for good; see upstream.go. packages.json then
// leaves available-packages out, so that composer asks about every name.
package composer
