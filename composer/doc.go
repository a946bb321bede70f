// Package composer serves a Composer v2 repository, a private Packagist (https://getcomposer.org/doc/05-repositories.md#composer).
//
// This package is being built: the handler is mounted and answers every
// request with 404 until its routes land.
package composer
