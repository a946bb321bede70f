// Package upstream fetches what a registry does not hold from the upstream
// registries it proxies, and keeps it in [core.Storage]. It is the common
// base of every protocol's upstream.go; the protocol knows its URLs, its
// storage keys and its metadata format, this package knows the rest:
//
//   - Which upstreams to ask: a [core.UpstreamProvider] (such as [Static],
//     with glob scope rules) names them per package, in priority order.
//     Each is asked with its credentials (Bearer token, HTTP Basic, or
//     none).
//   - Circuit breakers: one per upstream ([BreakerSettings]). A timeout, a
//     connection error or a 5xx/429 answer is a failure, a 404 a success;
//     after FailureThreshold consecutive failures the breaker opens and the
//     upstream is skipped, without waiting on it, until OpenTimeout has
//     passed; then one trial request decides whether it closes again.
//     [Client.Breakers] reports their states (for a /healthz page).
//   - Mutable metadata ([Client.Metadata]: packuments, simple pages, index
//     files, tags) is cached with a TTL. A stale copy is revalidated (with
//     If-None-Match when the upstream gave an ETag); within the
//     StaleWhileRevalidate window it is served at once and revalidated in
//     the background; when every upstream fails, the stale copy is served
//     whatever its age. A 404 from every upstream is remembered for
//     NegativeTTL.
//   - Immutable artifacts ([Client.Artifact]: tarballs, blobs by digest,
//     wheels, crates, gems, jars) are kept for good. The first request
//     streams the upstream's body to the client and into storage in one
//     pass; the bytes are staged at a [core.StageKey], checked against
//     the size and digests the metadata promised, and moved into place only
//     when they match. A truncated or mismatching body is never cached, and
//     the client's response fails before its last bytes. A client that
//     disconnects does not abort the fill, which goes on without it (up to
//     FillTimeout).
//   - Concurrent misses of one key fetch once: in a process through a
//     single flight, across processes sharing a store through a short lease
//     object written with a conditional put next to the cached key.
//
// Storage keys are the protocol's: it passes the key of each cached
// document and artifact, and a staging prefix its sweeper cleans. A cached
// document is stored as one JSON line describing it (when and from where it
// was fetched, the upstream's ETag and status) followed by the body, at
// most Policy.MaxMetadataSize bytes.
package upstream
