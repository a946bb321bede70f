package filesystem_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
)

func Example() {
	dir, err := os.MkdirTemp("", "store")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := filesystem.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	s := core.NewStorage(b, core.StorageHooks{})
	ctx := context.Background()

	// Create a document only if it is not there yet.
	if _, err := s.Put(ctx, "npm/left-pad/meta.json", strings.NewReader(`{"n":1}`), 7, core.PutOptions{IfAbsent: true}); err != nil {
		log.Fatal(err)
	}
	_, err = s.Put(ctx, "npm/left-pad/meta.json", strings.NewReader(`{"n":2}`), 7, core.PutOptions{IfAbsent: true})
	fmt.Println(err != nil && core.HTTPStatus(err) == 412)

	rc, info, err := s.Get(ctx, "npm/left-pad/meta.json", &core.ByteRange{Offset: 1, Length: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	part, _ := io.ReadAll(rc)
	fmt.Println(string(part), info.Size)
	// Output:
	// true
	// "n" 7
}
