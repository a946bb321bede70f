package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/smartregistry/smartregistry"
)

// newRootHandler serves /healthz itself and everything else through the
// registry. It deliberately avoids http.ServeMux, whose path cleaning and
// redirects would rewrite registry paths such as "/npm/@scope%2fpkg".
func newRootHandler(reg *smartregistry.Registry, backendName string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			serveHealth(w, r, reg, backendName)
			return
		}
		reg.ServeHTTP(w, r)
	})
}

type health struct {
	Status  string        `json:"status"`
	Storage storageHealth `json:"storage"`
}

type storageHealth struct {
	Backend   string `json:"backend"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
}

func serveHealth(w http.ResponseWriter, r *http.Request, reg *smartregistry.Registry, backendName string) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := health{Status: "ok", Storage: storageHealth{Backend: backendName, Reachable: true}}
	status := http.StatusOK
	if err := reg.Storage().Ping(ctx); err != nil {
		h.Status, h.Storage.Reachable, h.Storage.Error = "unavailable", false, err.Error()
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(h)
	}
}
