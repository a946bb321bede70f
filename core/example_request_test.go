package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// A unit test through Registry.HandleRequest, without a server: NewRequest
// builds the request as httptest.NewRequest does, splitting the query off
// the path. In a test, use t.Context() and compare with t.Errorf.
func ExampleNewRequest() {
	cfg := smartregistry.Config{
		Storage: smartregistry.StorageConfig{Backend: memory.New()},
		Auth:    smartregistry.AuthConfig{Tokens: []core.StaticToken{{Token: "test-token", UserID: "ci", OrgID: "acme"}}},
		Logger:  slog.New(slog.DiscardHandler),
	}
	cfg.NPM.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())

	req := core.NewRequest(http.MethodGet, "/npm/-/v1/search?text=left-pad&size=5", nil)
	req.Header.Set("Authorization", "Bearer test-token")
	resp := reg.HandleRequest(context.Background(), req)
	defer resp.Body.Close()
	var result struct {
		Total int `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&result); err != nil {
		panic(err)
	}
	fmt.Println(req.Path, req.Query.Get("text"))
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"), req.Actor.UserID, req.Actor.OrgID, result.Total)

	// The query belongs in Query: a Path with a "?" is refused.
	resp = reg.HandleRequest(context.Background(), &core.RequestContext{Method: http.MethodGet, Path: "/npm/x?write=true"})
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// /npm/-/v1/search left-pad
	// 200 application/json ci acme 0
	// 400
}
