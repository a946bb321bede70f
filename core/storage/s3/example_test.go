package s3_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
)

// A registry on MinIO, keeping its objects under "registry/" in a bucket it
// creates if needed. New gives up when MinIO does not answer within the
// context and CheckTimeout.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := s3.New(ctx, s3.Options{
		Endpoint:     "127.0.0.1",
		Port:         9000,
		Bucket:       "packages",
		CreateBucket: true,
		AccessKey:    "minioadmin",
		SecretKey:    "minioadmin",
		Prefix:       "registry",
		CheckTimeout: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = core.NewStorage(b, core.StorageHooks{})
}

// New checks the options before it goes to the network and names every
// field at fault; Validate does the same check alone, e.g. when a
// configuration file is loaded.
func ExampleOptions_Validate() {
	for _, opts := range []s3.Options{
		{},
		{Endpoint: "https://s3.example.com", Bucket: "packages"},
		{Endpoint: "minio.internal:9000", Bucket: "packages", AccessKey: "id"},
		{Endpoint: "s3.example.com", Bucket: "packages", Prefix: "/registry/../other"},
	} {
		err := opts.Validate()
		fmt.Println(err)
		var oe *s3.OptionError
		if errors.As(err, &oe) && errors.Is(err, core.ErrInvalidArgument) {
			fmt.Println("  first field:", oe.Field)
		}
	}
	_, err := s3.New(context.Background(), s3.Options{Endpoint: "s3.example.com"})
	fmt.Println(err)
	// Output:
	// s3 Options.Endpoint: missing: the host name, e.g. "s3.amazonaws.com" or "127.0.0.1"; s3 Options.Bucket: missing
	//   first field: Endpoint
	// s3 Options.Endpoint: "https://s3.example.com" has a scheme: give the host name only ("s3.example.com") and set UseSSL: true
	//   first field: Endpoint
	// s3 Options.Endpoint: "minio.internal:9000" has a port: give "minio.internal" in Endpoint and 9000 in Port; s3 Options.SecretKey: missing while AccessKey is set; give both, or neither for anonymous access
	//   first field: Endpoint
	// s3 Options.Prefix: "/registry/../other" starts with "/": give it without, e.g. "registry"
	//   first field: Prefix
	// s3 Options.Bucket: missing
}
