// Package digest hashes a stream with several algorithms at once while it is
// being copied somewhere else, so an upload is verified in one pass.
package digest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/blake2b"
)

// Algorithm names a hash function.
type Algorithm string

// The algorithms registries use: OCI (sha256, sha512), npm (sha1 shasum,
// sha512 integrity), PyPI (sha256, md5, blake2b-256), Maven (md5, sha1).
const (
	MD5        Algorithm = "md5"
	SHA1       Algorithm = "sha1"
	SHA256     Algorithm = "sha256"
	SHA512     Algorithm = "sha512"
	BLAKE2b256 Algorithm = "blake2b-256"
)

// New returns a fresh hash for alg, or an error for an unknown one.
func New(alg Algorithm) (hash.Hash, error) {
	switch alg {
	case MD5:
		return md5.New(), nil
	case SHA1:
		return sha1.New(), nil
	case SHA256:
		return sha256.New(), nil
	case SHA512:
		return sha512.New(), nil
	case BLAKE2b256:
		return blake2b.New256(nil)
	}
	return nil, fmt.Errorf("digest: unknown algorithm %q", alg)
}

// Set hashes everything written to it, or read through [Set.Reader], with
// several algorithms, and counts the bytes.
type Set struct {
	hashes map[Algorithm]hash.Hash
	w      io.Writer
	n      int64
}

// NewSet returns a Set for the given algorithms. It panics on an unknown
// algorithm: the list is program text.
func NewSet(algs ...Algorithm) *Set {
	s := &Set{hashes: make(map[Algorithm]hash.Hash, len(algs))}
	ws := make([]io.Writer, 0, len(algs))
	for _, a := range algs {
		h, err := New(a)
		if err != nil {
			panic(err)
		}
		s.hashes[a] = h
		ws = append(ws, h)
	}
	s.w = io.MultiWriter(ws...)
	return s
}

// Write hashes p.
func (s *Set) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	return s.w.Write(p)
}

// Reader returns a reader that hashes what is read from r.
func (s *Set) Reader(r io.Reader) io.Reader { return io.TeeReader(r, s) }

// Size is the number of bytes hashed so far.
func (s *Set) Size() int64 { return s.n }

// Sum returns the digest of alg so far; nil when alg is not in the set.
func (s *Set) Sum(alg Algorithm) []byte {
	h, ok := s.hashes[alg]
	if !ok {
		return nil
	}
	return h.Sum(nil)
}

// Hex returns the digest of alg as lower-case hex.
func (s *Set) Hex(alg Algorithm) string { return hex.EncodeToString(s.Sum(alg)) }

// Base64 returns the digest of alg in standard base64 (npm's integrity).
func (s *Set) Base64(alg Algorithm) string { return base64.StdEncoding.EncodeToString(s.Sum(alg)) }
