package oci

import (
	"fmt"
	"strings"
)

// The storage layout of the OCI protocol. Every key is built by one of the
// functions below; nothing else in the package spells a key.
//
//	oci/
//	├── catalog/<name>!                    empty marker: a repository anything was pushed to (kept when its
//	│                                      content is deleted, as distribution does). "!" sorts below every
//	│                                      character of a name, so listing the markers gives names in lexical
//	│                                      order ("a" < "a-b" < "a/b"), and "a" never is a directory of "a/b"
//	├── blobs/<alg>/<hex[:2]>/<hex>/data   content: layers, configs and manifests, stored once per digest
//	├── repositories/<name>/               <name> may be nested, e.g. team/sub/app; no component starts with "_"
//	│   ├── _layers/<alg>/<hex>            empty link: the blob is visible in this repository (pushed or mounted here)
//	│   ├── _manifests/
//	│   │   ├── revisions/<alg>/<hex>      manifestLink JSON: media type and size of a manifest pushed here
//	│   │   └── tags/<tag>                 tagLink JSON: the digest the tag points at
//	│   └── _referrers/<alg>/<hex>/<ralg>/<rhex>
//	│                                      Descriptor JSON of a manifest (ralg:rhex) whose subject is alg:hex
//	├── upstream/<name>/                   what the upstreams serve of repository <name>, fetched through it (see
//	│   │                                  upstream.go); outside repositories/, so a proxied name is no local one
//	│   ├── _layers/<alg>/<hex>            empty link: an upstream serves blob alg:hex in <name> (bytes in blobs/)
//	│   ├── _manifests/<alg>/<hex>         manifestLink JSON: a manifest an upstream serves in <name> (bytes in blobs/)
//	│   ├── _tags/<tag>                    the upstream's manifest of <tag>, a document cached with a TTL the
//	│   │                                  way package upstream caches one (a JSON line, then the body)
//	│   └── _taglist                       the upstream's tags list, cached the same way
//	├── fills/<created>-<uuid>             a blob or manifest arriving from an upstream (core.StageKey), moved to
//	│                                      blobs/ once its digest is checked; what a crash leaves is swept
//	└── uploads/<id>/                      one blob upload session, <id> a random UUID
//	    ├── session.json                   uploadSession JSON: repository, bytes received, chunk offsets and
//	    │                                  the marshalled running sha256 and sha512 states
//	    └── chunk-<offset>-<nonce>         the bytes received from <offset> (20 decimal digits) on, one object
//	                                       per PATCH; the session lists the chunks that count (a chunk that lost
//	                                       a race for its offset is not listed and is deleted); concatenated
//	                                       into blobs/ when the upload completes
//
// An upload lives entirely in storage: any Registry instance on the same
// bucket can continue it, and a restart loses nothing. Uploads whose
// session.json has not changed for Config.UploadMaxAge are removed by
// [Handler.CleanUploads].
const prefix = "oci/"

const catalogPrefix = prefix + "catalog/"

// catalogMarkerKey is the catalog marker of a repository.
func catalogMarkerKey(name string) string { return catalogPrefix + name + "!" }

// catalogName is the repository a catalog marker key names.
func catalogName(key string) (string, bool) {
	name, ok := strings.CutPrefix(key, catalogPrefix)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(name, "!")
}

// keyPrefixes are the beginnings of every key above, which error messages
// must not show (core.HideKeys).
var keyPrefixes = []string{prefix + "blobs/", prefix + "repositories/", prefix + "uploads/", catalogPrefix,
	upstreamPrefix, fillsPrefix}

func blobKey(d Digest) string {
	return prefix + "blobs/" + d.Algorithm + "/" + d.Hex[:2] + "/" + d.Hex + "/data"
}

func repoKey(name string) string { return prefix + "repositories/" + name + "/" }

func layerLinkKey(name string, d Digest) string {
	return repoKey(name) + "_layers/" + d.Algorithm + "/" + d.Hex
}

func manifestLinkKey(name string, d Digest) string {
	return repoKey(name) + "_manifests/revisions/" + d.Algorithm + "/" + d.Hex
}

func tagsPrefix(name string) string { return repoKey(name) + "_manifests/tags/" }

func tagKey(name, tag string) string { return tagsPrefix(name) + tag }

func referrersPrefix(name string, subject Digest) string {
	return repoKey(name) + "_referrers/" + subject.Algorithm + "/" + subject.Hex + "/"
}

func referrerKey(name string, subject, d Digest) string {
	return referrersPrefix(name, subject) + d.Algorithm + "/" + d.Hex
}

const (
	upstreamPrefix = prefix + "upstream/"
	fillsPrefix    = prefix + "fills/"
)

// upstreamRepoKey is the prefix of what the upstreams serve of name.
func upstreamRepoKey(name string) string { return upstreamPrefix + name + "/" }

func upstreamLayerKey(name string, d Digest) string {
	return upstreamRepoKey(name) + "_layers/" + d.Algorithm + "/" + d.Hex
}

func upstreamManifestKey(name string, d Digest) string {
	return upstreamRepoKey(name) + "_manifests/" + d.Algorithm + "/" + d.Hex
}

func upstreamTagKey(name, tag string) string { return upstreamRepoKey(name) + "_tags/" + tag }

func upstreamTagListKey(name string) string { return upstreamRepoKey(name) + "_taglist" }

const uploadsPrefix = prefix + "uploads/"

func uploadPrefix(id string) string { return uploadsPrefix + id + "/" }

func sessionKey(id string) string { return uploadPrefix(id) + "session.json" }

// chunkName names a chunk object within its upload; nonce makes the name
// unique among writers racing for the same offset.
func chunkName(offset int64, nonce string) string {
	return fmt.Sprintf("chunk-%020d-%s", offset, nonce)
}

func chunkKey(id, chunk string) string { return uploadPrefix(id) + chunk }

// uploadIDFromPrefix returns the id of an upload prefix from a listing.
func uploadIDFromPrefix(p string) string {
	return strings.TrimSuffix(strings.TrimPrefix(p, uploadsPrefix), "/")
}
