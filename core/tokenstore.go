package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// tokenRecord is what is kept of a token: its hash and description.
type tokenRecord struct {
	Hash string `json:"hash"`
	TokenInfo
	// OrgID and Attributes are the creator's, from [TokenOptions].
	OrgID      string            `json:"orgId,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// tokenStore keeps token records by hash.
type tokenStore interface {
	get(ctx context.Context, hash string) (tokenRecord, error)
	put(ctx context.Context, rec tokenRecord) error
	revoke(ctx context.Context, userID, id string) error
	list(ctx context.Context, userID string) ([]TokenInfo, error)
}

type memoryTokens struct {
	mu     sync.RWMutex
	byHash map[string]tokenRecord
}

func (m *memoryTokens) get(_ context.Context, hash string) (tokenRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rec, ok := m.byHash[hash]
	if !ok {
		return tokenRecord{}, ErrNotFound
	}
	return rec, nil
}

func (m *memoryTokens) put(_ context.Context, rec tokenRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byHash[rec.Hash] = rec
	return nil
}

func (m *memoryTokens) revoke(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, rec := range m.byHash {
		if rec.ID == id && rec.UserID == userID {
			delete(m.byHash, h)
			return nil
		}
	}
	return fmt.Errorf("%w: token %s", ErrNotFound, id)
}

func (m *memoryTokens) list(_ context.Context, userID string) ([]TokenInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []TokenInfo{}
	for _, rec := range m.byHash {
		if rec.UserID == userID {
			out = append(out, rec.TokenInfo)
		}
	}
	return out, nil
}

// storedTokens keeps one JSON document per token at <prefix><hash>.json, so
// a lookup is one read and the ID (a prefix of the hash) finds its record
// with one listing.
type storedTokens struct {
	storage *Storage
	prefix  string
	cache   *tokenCache
}

func (s *storedTokens) key(hash string) string { return s.prefix + hash + ".json" }

func (s *storedTokens) get(ctx context.Context, hash string) (tokenRecord, error) {
	if rec, ok := s.cache.get(hash); ok {
		return rec, nil
	}
	var rec tokenRecord
	if _, err := GetJSON(ctx, s.storage, s.key(hash), &rec); err != nil {
		return rec, err
	}
	s.cache.put(rec)
	return rec, nil
}

func (s *storedTokens) put(ctx context.Context, rec tokenRecord) error {
	_, err := PutJSON(WithKind(ctx, KindInternal), s.storage, s.key(rec.Hash), rec, PutOptions{IfAbsent: true})
	return err
}

func (s *storedTokens) revoke(ctx context.Context, userID, id string) error {
	if !validTokenID(id) {
		return fmt.Errorf("%w: token %q", ErrNotFound, id)
	}
	page, err := s.storage.List(ctx, s.prefix+id, ListOptions{Limit: 10})
	if err != nil {
		return err
	}
	for _, o := range page.Objects {
		hash := strings.TrimSuffix(strings.TrimPrefix(o.Key, s.prefix), ".json")
		rec, err := s.get(ctx, hash)
		if err != nil {
			continue
		}
		if rec.UserID == userID && rec.ID == id {
			s.cache.drop(hash)
			return s.storage.Delete(ctx, o.Key)
		}
	}
	return fmt.Errorf("%w: token %s", ErrNotFound, id)
}

func (s *storedTokens) list(ctx context.Context, userID string) ([]TokenInfo, error) {
	out := []TokenInfo{}
	err := s.storage.Walk(ctx, s.prefix, func(o ObjectInfo) error {
		var rec tokenRecord
		if _, err := GetJSON(ctx, s.storage, o.Key, &rec); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		if rec.UserID == userID {
			out = append(out, rec.TokenInfo)
		}
		return nil
	})
	return out, err
}

// layeredTokens puts the static configured tokens in front of a store; they
// cannot be revoked.
type layeredTokens struct {
	static map[string]tokenRecord
	next   tokenStore
}

func (l *layeredTokens) get(ctx context.Context, hash string) (tokenRecord, error) {
	if rec, ok := l.static[hash]; ok {
		return rec, nil
	}
	return l.next.get(ctx, hash)
}

func (l *layeredTokens) put(ctx context.Context, rec tokenRecord) error { return l.next.put(ctx, rec) }

func (l *layeredTokens) revoke(ctx context.Context, userID, id string) error {
	for _, rec := range l.static {
		if rec.ID == id {
			return fmt.Errorf("%w: a configured token cannot be revoked", ErrForbidden)
		}
	}
	return l.next.revoke(ctx, userID, id)
}

func (l *layeredTokens) list(ctx context.Context, userID string) ([]TokenInfo, error) {
	return l.next.list(ctx, userID)
}

// validTokenID reports whether id has the form [TokenID] gives: 16 lower-case
// hex characters. Anything else names no token (and must not reach a
// storage listing as a prefix).
func validTokenID(id string) bool {
	if len(id) != tokenIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
