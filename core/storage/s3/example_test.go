package s3_test

import (
	"log"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
)

// A registry on MinIO, keeping its objects under "registry/" in a bucket it
// creates if needed.
func ExampleNew() {
	b, err := s3.New(s3.Options{
		Endpoint:  "127.0.0.1",
		Port:      9000,
		Bucket:    "packages",
		AccessKey: "minioadmin",
		SecretKey: "minioadmin",
		Prefix:    "registry",
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = core.NewStorage(b, core.StorageHooks{})
}
