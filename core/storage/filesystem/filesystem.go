// Package filesystem is the storage backend that keeps objects as files
// under a root directory. It is the embedded default of the example server.
package filesystem

import (
	"errors"

	"github.com/smartregistry/smartregistry/core"
)

// Backend stores objects as files below a root directory.
type Backend struct{ core.Backend }

// New returns a backend rooted at dir, creating it if needed.
func New(dir string) (*Backend, error) {
	return nil, errors.New("filesystem: not implemented yet")
}
