package memory_test

import (
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
)

// factory gives each test a new map; a second "instance" is the same one.
func factory(testing.TB) storagetest.Store {
	b := memory.New()
	return storagetest.Store{Open: func(testing.TB) core.Backend { return b }}
}

func TestConformance(t *testing.T) { storagetest.Run(t, factory) }

func BenchmarkPutGet(b *testing.B) { storagetest.BenchmarkPutGet(b, factory) }
