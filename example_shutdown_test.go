package smartregistry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// A registry with its own slog.Logger, shut down in order: first the HTTP
// server, which waits for the requests in flight, then the registry, which
// stops its background work (Close does not wait for requests). The
// logger here drops time, duration and size only to keep the output
// stable.
func ExampleRegistry_Close() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "bytes" {
				return slog.Attr{}
			}
			return a
		},
	}))
	cfg := smartregistry.Config{Storage: smartregistry.StorageConfig{Backend: memory.New()}, Logger: logger}
	cfg.PyPI.Enabled = true
	cfg.Auth.AnonymousRead = []core.Protocol{core.ProtocolPyPI}
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)

	resp, err := http.Get("http://" + ln.Addr().String() + "/pypi/simple/")
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("shutdown", "error", err)
	}
	fmt.Println("close:", reg.Close(ctx))
	fmt.Println("close again:", reg.Close(ctx))
	// Output:
	// level=INFO msg=request method=GET path=/pypi/simple/ protocol=pypi status=200 user="" ip=127.0.0.1
	// close: <nil>
	// close again: <nil>
}
