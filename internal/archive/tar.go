package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/smartregistry/smartregistry/internal/counting"
)

// FromTar reads an uncompressed tar stream (a RubyGems .gem is one) until
// the first regular file whose cleaned name satisfies match, and returns
// its name and content, with the bounds of lim on the member size and the
// number of entries. It stops reading there. A missing member, or a stream
// that is not a tar, is ErrInvalid.
func FromTar(r io.Reader, match Match, lim Limits) (string, []byte, error) {
	lim = lim.withDefaults()
	tr := tar.NewReader(r)
	for i := 0; i < lim.MaxEntries; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return "", nil, fmt.Errorf("%w: no matching member", ErrInvalid)
		}
		if err != nil {
			return "", nil, fmt.Errorf("%w: not a tar archive: %v", ErrInvalid, err)
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return "", nil, err
		}
		if hdr.Typeflag != tar.TypeReg || !match(name) {
			continue
		}
		b, err := readBounded(tr, lim.MaxMemberSize)
		return name, b, err
	}
	return "", nil, fmt.Errorf("%w: more than %d entries", ErrInvalid, lim.MaxEntries)
}

// Gunzip decompresses a gzip member read out of an archive, with the
// inflation bounds of lim: at most lim.MaxMemberSize bytes come out, and
// the compression ratio is bounded past lim.RatioGrace.
func Gunzip(b []byte, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	src := &counting.Reader{R: bytes.NewReader(b)}
	gz, err := gzip.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: not gzip: %v", ErrInvalid, err)
	}
	defer gz.Close()
	inf := &inflation{r: gz, compressed: func() int64 { return src.N }, lim: lim}
	out, err := readBounded(inf, lim.MaxMemberSize)
	return out, inf.bound(err)
}
