// Package rubygems serves Ruby gems: the compact index that bundler and
// gem read, the legacy Marshal index older clients read, downloads, and
// the part of API v1 that gem push and gem yank speak
// (https://guides.rubygems.org/rubygems-org-api/,
// https://guides.rubygems.org/rubygems-org-compact-index-api/).
//
// # Endpoints
//
// Paths are relative to the base path (default /rubygems).
//
//	GET    /versions                        every gem, its versions and its info file's MD5 (append-only)
//	GET    /info/<gem>                      one line per version: dependencies, checksum, ruby and rubygems requirements
//	GET    /names                           every gem name
//	GET    /specs.4.8.gz                    legacy index: [name, Gem::Version, platform] of every release
//	GET    /latest_specs.4.8.gz             … of the newest release per gem and platform
//	GET    /prerelease_specs.4.8.gz         … of every prerelease
//	GET    /quick/Marshal.4.8/<full>.gemspec.rz   a Gem::Specification, Marshal 4.8, deflated
//	GET    /gems/<full>.gem                 a gem, streamed
//	POST   /api/v1/gems                     gem push: the raw .gem
//	DELETE /api/v1/gems/yank                gem yank: form gem_name, version, platform
//	PUT    /api/v1/gems/unyank              the same form: serve the version again
//	GET    /api/v1/versions/<gem>.json      the versions not yanked, newest first
//	GET    /api/v1/gems/<gem>.json          the newest version and its dependencies
//
// <full> is name-version, with -platform for a platform gem
// ("nokogiri-1.16.0-x86_64-linux"). Errors are plain text, which gem
// prints as it is; a re-push says "Repushing of gem versions is not
// allowed." (409).
//
// The compact index files carry ETag (the quoted MD5 of the body, which
// bundler compares with its own copy), Repr-Digest (sha-256) and
// Accept-Ranges; If-None-Match answers 304 and Range: bytes=N- 206, which
// is how bundler updates its copy of /versions. /versions only grows:
// a push appends "<name> <version> <md5>", a yank "<name> -<version>
// <md5>", so a client's first N bytes stay valid. It is stored as a base
// and a log of small records (see paths.go and versionsFile): a push never
// rewrites it. Yanked versions leave /info, the legacy index, the API and
// downloads.
//
// # Pushing
//
// The .gem (a plain tar of metadata.gz, data.tar.gz and checksums.yaml.gz)
// streams to storage while it is hashed; its gemspec is read back with
// bounds (metadata.gz at most 1 MiB, inflated at most Config.MaxSpecSize
// and at a bounded ratio) and parsed as plain YAML data with
// go.yaml.in/yaml/v3: the gemspec's own Ruby object tags
// (Gem::Specification, Version, Requirement, Dependency, Platform) are read
// as maps, any other tag is refused, and alias expansion is bounded, so a
// YAML bomb is refused. Then core.Publish moves the gem into place and one
// conditional update of the gem document lists it; last, /versions gains
// its line. A crash between any two steps leaves nothing half-visible,
// and a retry of the same .gem succeeds and completes /versions (so does
// Handler.RepairVersions, for a push nobody retries). Handler.CleanUploads
// removes the temporary objects of pushes a crash interrupted (a push
// also starts a sweep now and then).
//
// # Authentication
//
// gem sends the API key bare in Authorization; bundler sends Basic
// credentials from the source URL or bundle config. Both identify the
// caller. Scopes are rubygems:gem:<name>:read|write|delete: push needs
// write, yank delete, unyank write, reads read. The indexes that span all
// gems (/versions, /names, the legacy index) need an identified caller
// unless reads are anonymous, and list every gem. A 401 carries
// WWW-Authenticate: Basic realm="rubygems".
//
// # Client configuration
//
//	~/.gem/credentials (mode 0600):  ---
//	                                 :rubygems_api_key: TOKEN
//	gem push --host http://127.0.0.1:8080/rubygems my_gem-1.0.0.gem
//	gem install --clear-sources --source http://__token__:TOKEN@127.0.0.1:8080/rubygems my_gem
//	Gemfile:  source "http://127.0.0.1:8080/rubygems"
//	          (bundle config set --global http://127.0.0.1:8080/rubygems/ __token__:TOKEN)
//
// # Proxying
//
// With upstreams configured (core.Deps.Upstream; each URL a gem source
// such as https://rubygems.org), gems not held locally are proxied: their
// /info file is the upstream's (cached with the TTL of Config.Upstream),
// /versions lists them after the local gems with the upstream's lines, and
// their quick gemspecs and .gem files are kept for good once fetched, the
// .gem checked against its /info checksum. Listing them in /versions is
// needed: bundler (2.3) fetches /info/<gem> only of gems /versions lists,
// and only when the MD5 there differs from its copy's; gem install reads
// /info/<gem> directly. See upstream.go.
package rubygems
