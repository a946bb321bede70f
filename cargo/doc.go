// Package cargo serves a Cargo sparse-index registry (https://doc.rust-lang.org/cargo/reference/registry-index.html and registry-web-api.html).
//
// This package is being built: the handler is mounted and answers every
// request with 404 until its routes land.
package cargo
