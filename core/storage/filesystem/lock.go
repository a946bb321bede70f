package filesystem

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"syscall"
)

// numStripes is the number of lock files; keys hash onto them.
const numStripes = 256

// stripes serialise the check-and-rename step of writes to one key: a
// channel per stripe inside the process (so waiting goroutines do not each
// block an OS thread in flock, and can give up when their context ends),
// then flock(2) on the stripe's file against other processes.
type stripes struct {
	dir string
	sem [numStripes]chan struct{}
}

func newStripes(dir string) *stripes {
	s := &stripes{dir: dir}
	for i := range s.sem {
		s.sem[i] = make(chan struct{}, 1)
	}
	return s
}

// lock takes the exclusive lock of key's stripe and returns the function
// that releases it.
func (s *stripes) lock(ctx context.Context, key string) (func(), error) {
	h := fnv.New32a()
	h.Write([]byte(key))
	i := h.Sum32() % numStripes
	select {
	case s.sem[i] <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-s.sem[i] }
	f, err := os.OpenFile(filepath.Join(s.dir, fmt.Sprintf("%02x", i)), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		release()
		return nil, fmt.Errorf("lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		release()
		return nil, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return func() {
		// Closing the file releases the flock.
		f.Close()
		release()
	}, nil
}
