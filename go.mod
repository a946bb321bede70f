module github.com/smartregistry/smartregistry

go 1.26.0

require (
	github.com/gobwas/glob v1.1.0
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/google/uuid v1.6.0
)

require (
	golang.org/x/crypto v0.57.0
	golang.org/x/sys v0.48.0 // indirect
)
