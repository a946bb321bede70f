// Package archive reads single members out of package archives (tar.gz for
// npm and sdists, zip for wheels) with bounds on everything an attacker
// controls: the member size, the number of entries, the bytes inflated and
// the compression ratio (so a small archive cannot make the server inflate
// gigabytes), and path tricks in member names.
package archive

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/smartregistry/smartregistry/internal/counting"
)

// ErrInvalid is returned for an archive that cannot be read or breaks a
// bound; callers map it to their "bad request" category.
var ErrInvalid = errors.New("invalid archive")

// Limits bound what is read from an archive. Zero fields take defaults, so
// callers that set only MaxMemberSize get the inflation bounds too.
type Limits struct {
	// MaxMemberSize is the largest member returned; default 8 MiB.
	MaxMemberSize int64
	// MaxEntries is the most entries looked at; default 100,000.
	MaxEntries int
	// MaxInflated bounds the bytes decompressed while looking for the
	// member (a tar.gz is inflated up to the member, skipped members
	// included); default 512 MiB.
	MaxInflated int64
	// MaxRatio bounds decompressed bytes per compressed byte once more
	// than RatioGrace bytes were inflated; default 200. Deflate reaches
	// about 1000 on padding; real packages stay far below 100.
	MaxRatio int64
	// RatioGrace is how many bytes may be inflated before MaxRatio
	// applies, so that small, highly compressible archives pass; default
	// 1 MiB.
	RatioGrace int64
}

// Default limits.
const (
	defaultMaxMemberSize = 8 << 20
	defaultMaxEntries    = 100_000
	defaultMaxInflated   = 512 << 20
	defaultMaxRatio      = 200
	defaultRatioGrace    = 1 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxMemberSize <= 0 {
		l.MaxMemberSize = defaultMaxMemberSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = defaultMaxEntries
	}
	if l.MaxInflated <= 0 {
		l.MaxInflated = defaultMaxInflated
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = defaultMaxRatio
	}
	if l.RatioGrace <= 0 {
		l.RatioGrace = defaultRatioGrace
	}
	return l
}

// inflation bounds a decompressed stream: it fails with an ErrInvalid error
// once more than lim.MaxInflated bytes came out, or more than lim.MaxRatio
// per byte of compressed input (past lim.RatioGrace). compressed reports
// the compressed bytes consumed so far.
type inflation struct {
	r          io.Reader
	compressed func() int64
	lim        Limits
	n          int64
	err        error // the bound broken, kept so later reads fail alike
}

func (f *inflation) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	switch c := f.compressed(); {
	case f.n > f.lim.MaxInflated:
		f.err = fmt.Errorf("%w: inflates to more than %d bytes", ErrInvalid, f.lim.MaxInflated)
	case f.n > f.lim.RatioGrace && f.n/max(c, 1) > f.lim.MaxRatio:
		f.err = fmt.Errorf("%w: compression ratio over %d:1 (%d bytes from %d)", ErrInvalid, f.lim.MaxRatio, f.n, c)
	}
	if f.err != nil {
		return 0, f.err
	}
	return n, err
}

// bound returns err, or the broken inflation bound when there is one (the
// tar and zip readers wrap read errors with %v).
func (f *inflation) bound(err error) error {
	if f.err != nil {
		return f.err
	}
	return err
}

// Match decides, by cleaned member name, whether a member is the one wanted.
type Match func(name string) bool

// cleanName rejects absolute names and names that climb out with "..", and
// returns the name in clean slash form.
func cleanName(name string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") {
		return "", fmt.Errorf("%w: absolute member name %q", ErrInvalid, name)
	}
	for seg := range strings.SplitSeq(n, "/") {
		if seg == ".." {
			return "", fmt.Errorf("%w: member name %q leaves the archive", ErrInvalid, name)
		}
	}
	return path.Clean(n), nil
}

// FromTarGz reads a gzip-compressed tar stream until the first regular file
// whose cleaned name satisfies match, and returns its name and content. It
// stops reading there. A missing member is also ErrInvalid.
func FromTarGz(r io.Reader, match Match, lim Limits) (string, []byte, error) {
	lim = lim.withDefaults()
	src := &counting.Reader{R: r}
	gz, err := gzip.NewReader(src)
	if err != nil {
		return "", nil, fmt.Errorf("%w: not gzip: %v", ErrInvalid, err)
	}
	defer gz.Close()
	inf := &inflation{r: gz, compressed: func() int64 { return src.N }, lim: lim}
	tr := tar.NewReader(inf)
	for i := 0; i < lim.MaxEntries; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return "", nil, fmt.Errorf("%w: no matching member", ErrInvalid)
		}
		if err != nil {
			return "", nil, inf.bound(fmt.Errorf("%w: bad tar: %v", ErrInvalid, err))
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return "", nil, err
		}
		if hdr.Typeflag != tar.TypeReg || !match(name) {
			continue
		}
		b, err := readBounded(tr, lim.MaxMemberSize)
		return name, b, inf.bound(err)
	}
	return "", nil, fmt.Errorf("%w: more than %d entries", ErrInvalid, lim.MaxEntries)
}

// FromZip finds the first file in a zip archive (read through ra, of the
// given size) whose cleaned name satisfies match, and returns its name and
// content.
func FromZip(ra io.ReaderAt, size int64, match Match, lim Limits) (string, []byte, error) {
	lim = lim.withDefaults()
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return "", nil, fmt.Errorf("%w: not a zip archive: %v", ErrInvalid, err)
	}
	if len(zr.File) > lim.MaxEntries {
		return "", nil, fmt.Errorf("%w: more than %d entries", ErrInvalid, lim.MaxEntries)
	}
	for _, f := range zr.File {
		name, err := cleanName(f.Name)
		if err != nil {
			return "", nil, err
		}
		if f.FileInfo().IsDir() || !match(name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", nil, fmt.Errorf("%w: open %s: %v", ErrInvalid, name, err)
		}
		compressed := int64(min(f.CompressedSize64, uint64(size)))
		inf := &inflation{r: rc, compressed: func() int64 { return compressed }, lim: lim}
		b, err := readBounded(inf, lim.MaxMemberSize)
		rc.Close()
		return name, b, inf.bound(err)
	}
	return "", nil, fmt.Errorf("%w: no matching member", ErrInvalid)
}

func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read member: %v", ErrInvalid, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: member is over %d bytes", ErrInvalid, max)
	}
	return b, nil
}
