// Package rubygems serves a RubyGems registry: the compact index, the legacy index and API v1 (https://guides.rubygems.org/rubygems-org-api/).
//
// This package is being built: the handler is mounted and answers every
// request with 404 until its routes land.
package rubygems
