package rubygems

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// Storage layout of the RubyGems protocol. Every key is built by a
// function below; nothing else in the package spells a key.
//
//	rubygems/
//	├── gems/
//	│   └── <name>/
//	│       └── gem.json          the gem document, a core.EntryDoc (gemHead, then one line per version:
//	│                             "<version>[-<platform>]" and its versionRecord), changed only through
//	│                             UpdateEntryDoc; /info/<name>, the API and the legacy index read it
//	├── files/
//	│   └── <name>/
//	│       └── <object>          a .gem exactly as pushed; <object> is its upload's core.StageID, unique
//	│                             to one push, and the document names it: only listed files are served
//	├── versions/                 the compact index's /versions file, append-only:
//	│   ├── base/<seq>            the file as it was after log record <seq> (a compaction; base/0000000000000000
//	│   │                         holds only the created_at header), so that readers need not read every record
//	│   └── log/<seq>             one record appended after a change of a gem's versions: the lines it adds,
//	│                             written only if absent, so records form one gapless sequence across replicas
//	├── uploads/
//	│   └── <created>-<random>    a push in flight, deleted when its request ends; <created> is its start,
//	│                             UTC, so that what a crashed process left behind is found by age (also where
//	│                             upstream fills are staged)
//	└── upstream/                 what was fetched from the upstreams (upstream.go), apart from the local gems
//	    ├── versions/<upstream>   an upstream's /versions, as package upstream caches documents (TTL)
//	    ├── info/<name>           a gem's upstream /info file, cached the same way
//	    ├── specs/<name>/<full>.gemspec.rz   a quick gemspec, as the upstream sent it, kept for good
//	    └── gems/<name>/<full>.gem           a .gem checked against its /info checksum, kept for good
const (
	rootPrefix     = "rubygems/"
	gemsPrefix     = rootPrefix + "gems/"
	filesPrefix    = rootPrefix + "files/"
	versionsPrefix = rootPrefix + "versions/"
	basePrefix     = versionsPrefix + "base/"
	logPrefix      = versionsPrefix + "log/"
	uploadsPrefix  = rootPrefix + "uploads/"
	upstreamPrefix = rootPrefix + "upstream/"
)

// gemKey is the document of a gem.
func gemKey(name string) string { return path.Join(gemsPrefix, name, "gem.json") }

// fileKey is a stored .gem, by its object id (versionRecord.Object).
func fileKey(name, object string) string { return path.Join(filesPrefix, name, object) }

// seqWidth is the width of a sequence number in a key, so that keys sort
// by number.
const seqWidth = 16

// baseKey is the compacted /versions file through log record seq.
func baseKey(seq int64) string { return basePrefix + fmt.Sprintf("%0*d", seqWidth, seq) }

// logKey is log record seq of /versions.
func logKey(seq int64) string { return logPrefix + fmt.Sprintf("%0*d", seqWidth, seq) }

// seqOf is the sequence number in a base or log key.
func seqOf(key string) (int64, bool) {
	n, err := strconv.ParseInt(key[strings.LastIndexByte(key, '/')+1:], 10, 64)
	return n, err == nil
}

// uploadKey is the temporary object a push streams into.
func uploadKey(created time.Time) string { return core.StageKey(uploadsPrefix, created) }

// upstreamVersionsKey is the cached /versions of the upstream named name.
func upstreamVersionsKey(name string) string {
	return upstreamPrefix + "versions/" + url.PathEscape(name)
}

// upstreamInfoKey is the cached upstream /info file of a gem.
func upstreamInfoKey(name string) string { return upstreamPrefix + "info/" + name }

// upstreamSpecKey is a cached upstream quick gemspec (full: the gem's full
// name).
func upstreamSpecKey(name, full string) string {
	return upstreamPrefix + "specs/" + name + "/" + full + ".gemspec.rz"
}

// upstreamGemKey is a cached upstream .gem.
func upstreamGemKey(name, full string) string {
	return upstreamPrefix + "gems/" + name + "/" + full + ".gem"
}
