package core

import (
	"testing"
	"time"
)

func TestTokenCacheBound(t *testing.T) {
	c := newTokenCache(time.Minute)
	for i := range maxCachedTokens + 5 {
		c.put(tokenRecord{Hash: string(rune(i))})
	}
	if n := len(c.entries); n > maxCachedTokens {
		t.Fatalf("%d entries, bound is %d", n, maxCachedTokens)
	}
	if newTokenCache(-1) != nil {
		t.Fatal("a negative TTL made a cache")
	}
	var off *tokenCache
	off.put(tokenRecord{Hash: "x"})
	if _, ok := off.get("x"); ok {
		t.Fatal("a nil cache returned a record")
	}
}
