// Package maven serves a Maven repository in the standard layout (https://maven.apache.org/repository/layout.html).
//
// This package is being built: the handler is mounted and answers every
// request with 404 until its routes land.
package maven
