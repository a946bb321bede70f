// Package storagetest is the conformance suite every [core.Backend] passes.
//
// A backend joins it from its own _test.go with a [Factory] that creates a
// fresh, empty store and can open several independent backend instances on
// it (two processes sharing a directory, two clients on one bucket):
//
//	func factory(testing.TB) storagetest.Store {
//		b := memory.New() // one map; a second "instance" is the same one
//		return storagetest.Store{Open: func(testing.TB) core.Backend { return b }}
//	}
//
//	func TestConformance(t *testing.T) { storagetest.Run(t, factory) }
//
// The filesystem factory opens a new Backend on one temporary directory per
// call and reports stray temporary files and unpruned directories as
// [Store.Leftovers]; the S3 factory makes a bucket per test and opens a new
// client per call.
//
// [Run] runs every case as a parallel subtest on its own store and fails a
// case that leaves an object (or, through [Store.Leftovers], anything else)
// behind. [RunLargeObject] checks that a 1 GiB stream of unknown length goes
// through Put and Get in bounded memory, and [BenchmarkPutGet] measures
// small objects.
//
// Semantics checked beyond the [core.Backend] doc comments, which every
// backend here shares:
//   - a put whose reader yields more or fewer bytes than its size fails with
//     [core.ErrInvalidArgument] and writes nothing;
//   - a range at or past the end of a non-empty object is
//     [core.ErrRangeNotSatisfiable]; a range longer than the rest of the
//     object reads to the end; a zero-length range reads nothing;
//   - an ETag changes whenever the content changes (an overwrite with
//     identical content may keep it: S3 ETags are content hashes);
//   - every listing page but the last is non-empty, and following
//     NextStartAfter lists every entry exactly once, in order;
//   - StartAfter inside a common prefix skips that prefix.
package storagetest
