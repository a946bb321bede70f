// Package archive reads single members out of package archives (tar.gz for
// npm and sdists, zip for wheels) with bounds on everything an attacker
// controls: the member size, the number of entries, and path tricks in
// member names.
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
)

// ErrInvalid is returned for an archive that cannot be read or breaks a
// bound; callers map it to their "bad request" category.
var ErrInvalid = errors.New("invalid archive")

// Limits bound what is read from an archive. Zero fields take defaults.
type Limits struct {
	// MaxMemberSize is the largest member returned; default 8 MiB.
	MaxMemberSize int64
	// MaxEntries is the most entries looked at; default 100,000.
	MaxEntries int
}

func (l Limits) withDefaults() Limits {
	if l.MaxMemberSize <= 0 {
		l.MaxMemberSize = 8 << 20
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 100_000
	}
	return l
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
	gz, err := gzip.NewReader(r)
	if err != nil {
		return "", nil, fmt.Errorf("%w: not gzip: %v", ErrInvalid, err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for i := 0; i < lim.MaxEntries; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return "", nil, fmt.Errorf("%w: no matching member", ErrInvalid)
		}
		if err != nil {
			return "", nil, fmt.Errorf("%w: bad tar: %v", ErrInvalid, err)
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
		b, err := readBounded(rc, lim.MaxMemberSize)
		rc.Close()
		return name, b, err
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
