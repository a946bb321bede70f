package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LoginThrottle configures the backoff after failed password checks
// ([AuthOptions.LoginThrottle]). Each failure is counted per user name and
// per client IP; past the free failures, the name (or IP) is locked out for
// a delay that doubles with each further failure, and attempts while locked
// are refused at once, without checking the password, so that a flood of
// guesses costs no PBKDF2. A password that checked out recently (a
// [RecentLogins] provider) is accepted even while its user is locked, so
// that an attack on a name does not lock its owner's clients out.
//
// The zero value turns throttling off. Use [DefaultLoginThrottle] for the
// recommended values.
type LoginThrottle struct {
	// UserFailures is how many failures a user name may have within
	// Window before it is locked out; 0 means no limit per name.
	UserFailures int
	// IPFailures is the same per client IP; 0 means no limit per IP.
	IPFailures int
	// Window is how long a failure is remembered: the count starts again
	// after Window without a failure. Default 15 minutes.
	Window time.Duration
	// Delay is the first lockout; each further failure doubles it.
	// Default 1 second.
	Delay time.Duration
	// MaxDelay caps the lockout; default 15 minutes.
	MaxDelay time.Duration
	// Storage, when set, keeps the counters, updated with conditional
	// writes, so that replicas sharing a bucket share them. Otherwise
	// counters live in memory.
	Storage *Storage
	// StoragePrefix is where in Storage; default "auth/throttle/".
	StoragePrefix string
	// CacheTTL is how long a replica trusts a counter it read from
	// Storage before reading it again; default 1 second.
	CacheTTL time.Duration
	// MaxEntries bounds the counters kept in memory; default 100,000.
	MaxEntries int
}

// DefaultLoginThrottle is throttling as the example server runs it: a
// user name is locked after 5 failures, an IP after 20, for 1 s doubling
// up to 15 minutes.
var DefaultLoginThrottle = LoginThrottle{UserFailures: 5, IPFailures: 20}

// RecentLogins is an optional capability of an [AuthProvider] that
// remembers passwords that checked out: AuthenticateRecent accepts such a
// password cheaply (no key derivation) and reports false for anything
// else, including a wrong password, without its full cost.
// [DefaultAuthProvider] implements it.
type RecentLogins interface {
	// AuthenticateRecent returns the principal when password is one that
	// recently checked out for username, and false otherwise.
	AuthenticateRecent(ctx context.Context, username, password string) (*Principal, bool)
}

// failureRecord is the stored state of one user name or IP.
type failureRecord struct {
	Failures    int       `json:"failures"`
	LastFailure time.Time `json:"lastFailure"`
	LockedUntil time.Time `json:"lockedUntil,omitzero"`
}

// cachedRecord is a failureRecord as this process last saw it.
type cachedRecord struct {
	rec  failureRecord
	read time.Time
}

// throttle keeps the failure counters of a LoginThrottle.
type throttle struct {
	cfg LoginThrottle
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedRecord
}

func newThrottle(cfg LoginThrottle) (*throttle, error) {
	if cfg.UserFailures <= 0 && cfg.IPFailures <= 0 {
		return nil, nil
	}
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.Delay <= 0 {
		cfg.Delay = time.Second
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 15 * time.Minute
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Second
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.StoragePrefix == "" {
		cfg.StoragePrefix = "auth/throttle/"
	}
	if err := ValidatePrefix(cfg.StoragePrefix); err != nil {
		return nil, fmt.Errorf("LoginThrottle.StoragePrefix: %w", err)
	}
	return &throttle{cfg: cfg, now: time.Now, cache: map[string]cachedRecord{}}, nil
}

// subjects are the counters a login attempt touches, with their limits.
func (t *throttle) subjects(username, ip string) []subject {
	var out []subject
	if t.cfg.UserFailures > 0 && username != "" {
		out = append(out, subject{key: t.key("user", username), limit: t.cfg.UserFailures})
	}
	if t.cfg.IPFailures > 0 && ip != "" {
		out = append(out, subject{key: t.key("ip", ip), limit: t.cfg.IPFailures})
	}
	return out
}

type subject struct {
	key   string
	limit int
}

// key is a subject's storage key: hashed, so that any user name or IP
// makes a valid key and none is stored in the clear.
func (t *throttle) key(kind, id string) string {
	sum := sha256.Sum256([]byte(id))
	return t.cfg.StoragePrefix + kind + "/" + hex.EncodeToString(sum[:16])
}

// check refuses an attempt while the user name or IP is locked out.
func (t *throttle) check(ctx context.Context, username, ip string) error {
	now := t.now()
	for _, s := range t.subjects(username, ip) {
		rec, err := t.read(ctx, s.key, now)
		if err != nil {
			return err
		}
		if until := rec.LockedUntil; now.Before(until) {
			return fmt.Errorf("%w: too many failed logins; retry in %s", ErrTooManyRequests, until.Sub(now).Round(time.Second))
		}
	}
	return nil
}

// fail counts a failed password check against the user name and IP.
func (t *throttle) fail(ctx context.Context, username, ip string) error {
	for _, s := range t.subjects(username, ip) {
		if err := t.update(ctx, s.key, func(r *failureRecord, now time.Time) { t.countFailure(r, s.limit, now) }); err != nil {
			return err
		}
	}
	return nil
}

// succeed forgets the user name's failures (not the IP's: one right
// password does not excuse a flood of guesses at others).
func (t *throttle) succeed(ctx context.Context, username string) error {
	if t.cfg.UserFailures <= 0 || username == "" {
		return nil
	}
	key := t.key("user", username)
	if rec, err := t.read(ctx, key, t.now()); err != nil || rec.Failures == 0 {
		return err
	}
	return t.update(ctx, key, func(r *failureRecord, _ time.Time) { *r = failureRecord{} })
}

// countFailure adds a failure to r: the count restarts after Window, and
// from the limit on each failure locks for Delay doubled per failure over.
func (t *throttle) countFailure(r *failureRecord, limit int, now time.Time) {
	if now.Sub(r.LastFailure) > t.cfg.Window {
		r.Failures = 0
	}
	r.Failures++
	r.LastFailure = now
	if over := r.Failures - limit; over >= 0 {
		d := t.cfg.MaxDelay
		if over < 30 {
			d = min(t.cfg.Delay<<over, t.cfg.MaxDelay)
		}
		r.LockedUntil = now.Add(d)
	}
}

// read returns key's record: from the cache when it is locked or was read
// within CacheTTL, otherwise from storage.
func (t *throttle) read(ctx context.Context, key string, now time.Time) (failureRecord, error) {
	t.mu.Lock()
	c, ok := t.cache[key]
	t.mu.Unlock()
	if t.cfg.Storage == nil || ok && (now.Before(c.rec.LockedUntil) || now.Sub(c.read) < t.cfg.CacheTTL) {
		return c.rec, nil
	}
	var rec failureRecord
	if _, err := GetJSON(ctx, t.cfg.Storage, key, &rec); err != nil && !errors.Is(err, ErrNotFound) {
		return failureRecord{}, fmt.Errorf("read login failures: %w", err)
	}
	t.remember(key, rec, now)
	return rec, nil
}

// update changes key's record: in storage with a conditional write when
// there is one, and in the cache.
func (t *throttle) update(ctx context.Context, key string, change func(r *failureRecord, now time.Time)) error {
	now := t.now()
	if t.cfg.Storage == nil {
		t.mu.Lock()
		rec := t.cache[key].rec
		t.mu.Unlock()
		change(&rec, now)
		t.remember(key, rec, now)
		return nil
	}
	rec, err := UpdateJSON(ctx, t.cfg.Storage, key, func(r *failureRecord, _ bool) error {
		change(r, now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	t.remember(key, *rec, now)
	return nil
}

// remember caches rec; when the cache is full, an arbitrary entry goes
// (for the memory-only throttle: its count starts again).
func (t *throttle) remember(key string, rec failureRecord, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.cache[key]; !ok && len(t.cache) >= t.cfg.MaxEntries {
		for k := range t.cache {
			delete(t.cache, k)
			break
		}
	}
	t.cache[key] = cachedRecord{rec: rec, read: now}
}
