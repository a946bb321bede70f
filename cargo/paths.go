package cargo

import (
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// Storage layout of the Cargo protocol. Every key is built by a function
// below; nothing else in the package spells a key. <crate> is the
// normalized name (NormalizeName): names equal up to case and "-"/"_" are
// one crate.
//
//	cargo/
//	├── crates/
//	│   └── <crate>/
//	│       └── index                        the crate document, a core.EntryDoc (crateHead: name as first
//	│                                        published, owners, tombstones; then per version a line "<vers>" whose
//	│                                        data is the sparse index line served as is, and a line "=<vers>"
//	│                                        (build metadata cut off) holding its versionRecord); changed only
//	│                                        through UpdateEntryDoc
//	├── files/
//	│   └── <crate>/
//	│       └── <object>                     a .crate exactly as published; <object> is its upload's
//	│                                        core.StageID, unique to one publish, and the document names it:
//	│                                        only crates the document lists are served
//	├── search/
//	│   └── <shard>                          the search index, 64 core.EntryDoc shards (one line per crate)
//	└── uploads/
//	    └── <created>-<random>               a publish in flight, moved into files/ or deleted when its
//	                                         request ends; <created> (UTC, 20060102T150405.000000000Z) lets
//	                                         the sweeper find what a crashed process left behind
const (
	rootPrefix    = "cargo/"
	cratesPrefix  = rootPrefix + "crates/"
	filesPrefix   = rootPrefix + "files/"
	searchPrefix  = rootPrefix + "search/"
	uploadsPrefix = rootPrefix + "uploads/"
)

// crateKey is the document of a normalized crate name.
func crateKey(crate string) string { return path.Join(cratesPrefix, crate, "index") }

// fileKey is a stored .crate, by its object id (versionRecord.Object).
func fileKey(crate, object string) string { return path.Join(filesPrefix, crate, object) }

// searchShardKey is one shard of the search index.
func searchShardKey(shard int) string { return searchPrefix + strconv.Itoa(shard) }

// uploadKey is the temporary object a publish streams into.
func uploadKey(created time.Time) string { return core.StageKey(uploadsPrefix, created) }

// Keys of crates fetched from the upstreams (upstream.go), below
// cargo/upstream/, apart from the local crates:
//
//	cargo/upstream/
//	├── index/<crate>                        the upstream's index file, as the upstream package caches a
//	│                                        document (a JSON line, then the body); refreshed after the TTL
//	├── config/<upstream>                    an upstream's config.json (its dl), cached the same way
//	└── files/<crate>/<vers>.crate           a .crate as fetched and checked against its cksum, kept for good
const upstreamPrefix = rootPrefix + "upstream/"

// upstreamIndexKey is the cached upstream index file of a crate.
func upstreamIndexKey(crate string) string { return upstreamPrefix + "index/" + crate }

// upstreamConfigKey is the cached config.json of the upstream named name.
func upstreamConfigKey(name string) string { return upstreamPrefix + "config/" + url.PathEscape(name) }

// upstreamFileKey is a cached upstream .crate.
func upstreamFileKey(crate, vers string) string {
	return upstreamPrefix + "files/" + crate + "/" + vers + ".crate"
}
