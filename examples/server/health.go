package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/upstream"
)

// newRootHandler serves /healthz itself and everything else through the
// registry. It deliberately avoids http.ServeMux, whose path cleaning and
// redirects would rewrite registry paths such as "/npm/@scope%2fpkg".
// breakers, when not nil, are the upstreams' circuit breakers, reported
// there too.
func newRootHandler(reg *smartregistry.Registry, backendName string, breakers *upstream.Breakers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			serveHealth(w, r, reg, backendName, breakers)
			return
		}
		reg.ServeHTTP(w, r)
	})
}

type health struct {
	Status  string        `json:"status"`
	Storage storageHealth `json:"storage"`
	// Upstreams are the circuit breakers of the upstream registries: an
	// open one is skipped (the cache serves what it holds). They do not
	// change the status.
	Upstreams []upstream.BreakerState `json:"upstreams,omitempty"`
}

type storageHealth struct {
	Backend   string `json:"backend"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
}

func serveHealth(w http.ResponseWriter, r *http.Request, reg *smartregistry.Registry, backendName string, breakers *upstream.Breakers) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := health{Status: "ok", Storage: storageHealth{Backend: backendName, Reachable: true}}
	status := http.StatusOK
	if err := reg.Storage().Ping(ctx); err != nil {
		h.Status, h.Storage.Reachable, h.Storage.Error = "unavailable", false, err.Error()
		status = http.StatusServiceUnavailable
	}
	if breakers != nil {
		h.Upstreams = breakers.States()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(h)
	}
}
