package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

func ExampleParseScope() {
	grant, err := core.ParseScope("npm:package:@team/*:write")
	if err != nil {
		panic(err)
	}
	for _, want := range []core.Scope{
		core.NewScope(core.ProtocolNPM, "package", "@team/app", core.ActionWrite),
		core.NewScope(core.ProtocolNPM, "package", "@team/app", core.ActionRead),   // write implies read
		core.NewScope(core.ProtocolNPM, "package", "@team/app", core.ActionDelete), // but not delete
		core.NewScope(core.ProtocolNPM, "package", "@other/app", core.ActionRead),
	} {
		fmt.Println(want, grant.Allows(want))
	}

	// Maven names contain ":"; the action is always the last part.
	maven := core.MustParseScope("maven:artifact:com.example:lib:read")
	fmt.Printf("%s %s %q %s\n", maven.Protocol, maven.Type, maven.Name, maven.Action)
	// Output:
	// npm:package:@team/app:write true
	// npm:package:@team/app:read true
	// npm:package:@team/app:delete false
	// npm:package:@other/app:read false
	// maven artifact "com.example:lib" read
}

func ExampleUpdateJSON() {
	ctx := context.Background()
	storage := core.NewStorage(memory.New(), core.StorageHooks{})

	type packument struct {
		Name     string            `json:"name"`
		DistTags map[string]string `json:"dist-tags"`
	}
	// Each call reads the document, changes it and writes it back only if
	// nobody else wrote it in between (otherwise it reads again).
	for _, version := range []string{"1.0.0", "1.1.0"} {
		_, err := core.UpdateJSON(ctx, storage, "npm/packages/left-pad.json", func(doc *packument, exists bool) error {
			if !exists {
				doc.Name = "left-pad"
				doc.DistTags = map[string]string{}
			}
			doc.DistTags["latest"] = version
			return nil
		})
		if err != nil {
			panic(err)
		}
	}
	var doc packument
	if _, err := core.GetJSON(ctx, storage, "npm/packages/left-pad.json", &doc); err != nil {
		panic(err)
	}
	fmt.Println(doc.Name, doc.DistTags["latest"])
	// Output: left-pad 1.1.0
}

// A quota hook: BeforePut refuses writes for one protocol over a size, and
// AfterPut keeps an audit trail with the actor from the request context.
func ExampleStorageHooks() {
	hooks := core.StorageHooks{
		BeforePut: func(ctx context.Context, ev core.HookEvent) error {
			if ev.Protocol == core.ProtocolNPM && ev.Size > 10 {
				return errors.New("npm quota exceeded")
			}
			return nil
		},
		AfterPut: func(ctx context.Context, ev core.HookEvent) {
			fmt.Printf("audit: %s stored %s (%d bytes)\n", ev.Actor.UserID, ev.Key, ev.Size)
		},
	}
	storage := core.NewStorage(memory.New(), hooks)

	ctx := core.WithActor(core.WithProtocol(context.Background(), core.ProtocolNPM), &core.Actor{UserID: "alice"})
	put := func(key, body string) {
		_, err := storage.Put(ctx, key, strings.NewReader(body), int64(len(body)), core.PutOptions{})
		if err != nil {
			fmt.Printf("%s: %v (status %d)\n", key, err, core.HTTPStatus(err))
		}
	}
	put("npm/small.tgz", "tiny")
	put("npm/large.tgz", "far too large")
	// Output:
	// audit: alice stored npm/small.tgz (4 bytes)
	// npm/large.tgz: put refused: npm quota exceeded (status 403)
}
