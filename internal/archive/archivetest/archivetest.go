// Package archivetest builds hostile archives for the tests of the
// packages that read archives through internal/archive.
package archivetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
)

// PaddedTarGz returns a tar.gz whose first member, padding/zeros, is
// padding bytes of zeros, followed by the member name with body: an archive
// that inflates about a thousand times its size before the member a
// reader looks for.
func PaddedTarGz(padding int64, name string, body []byte) []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	must := func(err error) {
		if err != nil {
			panic(err) // writing to memory does not fail
		}
	}
	must(tw.WriteHeader(&tar.Header{Name: "padding/zeros", Mode: 0o644, Size: padding, Typeflag: tar.TypeReg}))
	zeros := make([]byte, 1<<20)
	for left := padding; left > 0; left -= int64(len(zeros)) {
		_, err := tw.Write(zeros[:min(left, int64(len(zeros)))])
		must(err)
	}
	must(tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
	_, err := tw.Write(body)
	must(err)
	must(tw.Close())
	must(gz.Close())
	return buf.Bytes()
}
