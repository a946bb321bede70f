// Package s3 is the S3 storage backend, built on minio-go. It works with
// AWS S3, MinIO and other S3-compatible servers that honour conditional
// writes (If-None-Match: * and If-Match on PutObject and
// CompleteMultipartUpload).
//
// # Layout
//
// The object for key k is <Options.Prefix>/<k> in Options.Bucket. New
// checks that the bucket exists, and creates it when Options.CreateBucket
// is set.
//
// # Writes
//
//   - A put of known size up to 5 GiB is one streamed PUT: nothing is
//     buffered, and the object appears atomically when the PUT completes.
//   - A put of unknown size reads up to Options.PartSize (16 MiB by default)
//     into one buffer: if the stream ends there, it is one PUT; otherwise it
//     becomes a multipart upload of PartSize parts, one part in memory at a
//     time, so an upload holds about PartSize of memory however long it
//     is. Larger known sizes take the same multipart path. At most 10,000
//     parts: 156 GiB with the default part size.
//   - Conditions (IfAbsent, IfMatch) go on the request that makes the object
//     visible: the PUT, or the CompleteMultipartUpload (never on the
//     initiation, which is minio-go's high-level multipart trap). A
//     multipart put also checks the condition before uploading, to fail
//     early. A failed condition (HTTP 412) is [core.ErrPreconditionFailed].
//   - A failed multipart upload is aborted.
//
// # ETags
//
// ETags are the server's: the hex MD5 of the content for a single PUT,
// "<md5 of part MD5s>-<parts>" for a multipart upload. An overwrite with
// identical content may therefore keep its ETag, which is harmless for
// conditional updates: the content the condition was read against is still
// there.
//
// # Reads and listing
//
// Get is one GET: a missing key fails in Get, not on first read, and the
// info comes from the response that carries the data, so it always
// describes the bytes streamed. A listing
// is one ListObjectsV2 request per page in most cases (minio-go's Core
// call, which takes no context; the HTTP client's timeouts apply).
package s3
