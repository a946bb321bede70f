package core

import (
	"sync"
	"time"
)

// maxCachedTokens bounds the token cache; when it is full it starts over.
const maxCachedTokens = 10_000

// tokenCache remembers token records read from storage for a short time,
// so that a request with a token does not cost a storage read (a network
// round trip on S3) each time. A nil cache caches nothing.
type tokenCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedToken
}

type cachedToken struct {
	rec   tokenRecord
	until time.Time
}

// newTokenCache returns a cache keeping records for ttl, or nil when ttl
// is not positive.
func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl <= 0 {
		return nil
	}
	return &tokenCache{ttl: ttl, now: time.Now, entries: map[string]cachedToken{}}
}

func (c *tokenCache) get(hash string) (tokenRecord, bool) {
	if c == nil {
		return tokenRecord{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !c.now().Before(e.until) {
		delete(c.entries, hash)
		return tokenRecord{}, false
	}
	return e.rec, true
}

func (c *tokenCache) put(rec tokenRecord) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[rec.Hash] = cachedToken{rec: rec, until: c.now().Add(c.ttl)}
}

func (c *tokenCache) drop(hash string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, hash)
	c.mu.Unlock()
}
