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
	// "/" followed by the protocol name.
	BasePath string
	// RegistryURL is the public URL of the base path, used in generated
	// links (tarball URLs, download links). When empty it is derived from
	// the Host of each request.
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
