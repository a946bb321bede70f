package composer

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/archive"
)

// zipLimits bound what is read out of an uploaded zip.
type zipLimits struct {
	maxEntries  int
	maxManifest int64
	maxRatio    int64
}

// ratioGrace is how much of composer.json may inflate before the
// compression ratio bound applies.
const ratioGrace = 64 << 10

// readManifest checks an uploaded zip, read through ra (size bytes), and
// returns its composer.json: at the root, or in the one folder all entries
// are in (as GitHub's archives have it). Every entry is checked first: a
// name with "..", an absolute name or a symbolic link refuses the zip, and
// so does a zip of more than lim.maxEntries entries; composer.json itself
// is bounded in size and compression ratio (internal/archive). An error
// wraps core.ErrInvalidArgument, or is ra's when storage failed.
func readManifest(ra io.ReaderAt, size int64, lim zipLimits) ([]byte, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("%w: the upload is not a zip archive: %v", core.ErrInvalidArgument, err)
	}
	if len(zr.File) > lim.maxEntries {
		return nil, fmt.Errorf("%w: the zip has more than %d entries", core.ErrInvalidArgument, lim.maxEntries)
	}
	want, err := manifestName(zr.File)
	if err != nil {
		return nil, err
	}
	_, b, err := archive.FromZip(ra, size, func(name string) bool { return name == want },
		archive.Limits{MaxMemberSize: lim.maxManifest, MaxEntries: lim.maxEntries, MaxRatio: lim.maxRatio, RatioGrace: ratioGrace})
	if errors.Is(err, archive.ErrInvalid) {
		return nil, fmt.Errorf("%w: %s: %v", core.ErrInvalidArgument, want, err)
	}
	return b, err
}

// manifestName checks every entry's name and type and returns the name of
// the composer.json to read.
func manifestName(files []*zip.File) (string, error) {
	top, oneTop := "", true
	root := false
	for _, f := range files {
		name := strings.ReplaceAll(f.Name, "\\", "/")
		if err := checkEntryName(name); err != nil {
			return "", err
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("%w: the zip holds a symbolic link, %q", core.ErrInvalidArgument, f.Name)
		}
		name = path.Clean(name)
		if name == "composer.json" {
			root = true
		}
		first, _, nested := strings.Cut(name, "/")
		switch {
		case !nested && !f.FileInfo().IsDir():
			oneTop = false // a file at the root
		case top == "":
			top = first
		case top != first:
			oneTop = false
		}
	}
	switch {
	case root:
		return "composer.json", nil
	case oneTop && top != "":
		for _, f := range files {
			if path.Clean(strings.ReplaceAll(f.Name, "\\", "/")) == top+"/composer.json" {
				return top + "/composer.json", nil
			}
		}
	}
	return "", fmt.Errorf("%w: the zip has no composer.json at its root or in its top folder", core.ErrInvalidArgument)
}

// checkEntryName refuses names that climb out of the archive or are
// absolute (also Windows drive names).
func checkEntryName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') {
		return fmt.Errorf("%w: the zip holds an absolute or empty name %q", core.ErrInvalidArgument, name)
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return fmt.Errorf("%w: the zip holds a name that leaves it, %q", core.ErrInvalidArgument, name)
		}
	}
	return nil
}
