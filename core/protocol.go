package core

import (
	"log/slog"
)

// ProtocolConfig is the part of configuration every protocol shares. Each
// protocol package embeds it in its own Config.
type ProtocolConfig struct {
	// Enabled switches the protocol on.
	Enabled bool
	// BasePath is where the protocol is mounted, e.g. "/npm"; the default is
	// "/" followed by the protocol name. It includes the prefix the
	// registry is mounted under ("/registry/npm" for mux.Handle("/registry/",
	// reg)), unless http.StripPrefix removes that prefix first.
	BasePath string
	// RegistryURL is the public URL of the base path, prefix included,
	// used in generated links (tarball URLs, download links, the OCI token
	// realm). When empty it is derived from each request: scheme, Host, the
	// prefix http.StripPrefix removed, and BasePath.
	RegistryURL string
}

// Deps are the shared services a protocol handler is built with.
type Deps struct {
	// Storage holds every object; its hooks see every write and delete.
	Storage *Storage
	// Auth identifies callers and decides what they may do.
	Auth *AuthManager
	// Logger receives the detail of internal errors and background work.
	Logger *slog.Logger
	// Upstream, when not nil, names the upstream registries to fetch from.
	Upstream UpstreamProvider
}
