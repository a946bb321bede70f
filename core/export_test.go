package core

import "time"

// SetTokenCacheClock replaces the clock of p's stored-token cache, for
// tests of its expiry.
func SetTokenCacheClock(p *DefaultAuthProvider, now func() time.Time) {
	p.tokens.(*layeredTokens).next.(*storedTokens).cache.now = now
}

// SetThrottleClock replaces the clock of m's login throttle.
func SetThrottleClock(m *AuthManager, now func() time.Time) { m.throttle.now = now }
