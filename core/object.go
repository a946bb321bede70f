package core

import "context"

// ObjectKind says what a stored object is to the registry, so that hooks
// can tell a published artifact from the bookkeeping around it.
type ObjectKind string

// The kinds of stored objects.
const (
	// KindArtifact is a published file a client downloads: an npm
	// tarball, a wheel or sdist, an OCI blob or manifest, a crate, a gem,
	// a jar. Quotas count these.
	KindArtifact ObjectKind = "artifact"
	// KindMetadata is a package's own document or link (a packument, a
	// PyPI project document, a file's core metadata, an OCI tag or link).
	KindMetadata ObjectKind = "metadata"
	// KindIndex is derived data that spans packages (search shards, the
	// /simple/ index, the OCI catalog). Its writes follow a change that
	// has already happened, so Before hooks are never asked about them.
	KindIndex ObjectKind = "index"
	// KindTemporary is an upload in progress, moved into place (as an
	// artifact) or removed when its request ends, or swept if a crash
	// left it.
	KindTemporary ObjectKind = "temporary"
	// KindInternal is the registry's own state: tokens, login records,
	// upload sessions.
	KindInternal ObjectKind = "internal"
)

// ObjectRef describes the object a storage operation is for: its kind and
// the package and version it belongs to (either may be empty). Protocol
// handlers attach it to the context ([WithObject]) before they call
// [Storage]; hooks receive it in the [HookEvent].
type ObjectRef struct {
	// Kind is what the object is; empty when the handler did not say.
	Kind ObjectKind
	// Package is the package (npm package, PyPI project, OCI repository)
	// the object belongs to.
	Package string
	// Version is the version (npm and PyPI version, OCI tag or digest).
	Version string
}

type objectKey struct{}

// WithObject returns a context whose storage operations are about ref.
// Empty fields of ref keep the values ctx had, so a handler can name the
// package once and the kind per operation.
func WithObject(ctx context.Context, ref ObjectRef) context.Context {
	cur := ObjectFrom(ctx)
	if ref.Kind == "" {
		ref.Kind = cur.Kind
	}
	if ref.Package == "" {
		ref.Package = cur.Package
	}
	if ref.Version == "" {
		ref.Version = cur.Version
	}
	return context.WithValue(ctx, objectKey{}, ref)
}

// WithKind is WithObject with only a kind.
func WithKind(ctx context.Context, kind ObjectKind) context.Context {
	return WithObject(ctx, ObjectRef{Kind: kind})
}

// ObjectFrom returns the object ref stored in ctx, or the zero ref.
func ObjectFrom(ctx context.Context) ObjectRef {
	ref, _ := ctx.Value(objectKey{}).(ObjectRef)
	return ref
}
