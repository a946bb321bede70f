package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// MaxJSONDocument bounds the size of a metadata document read by [GetJSON],
// [UpdateJSON], [GetEntryDoc] and [UpdateEntryDoc].
const MaxJSONDocument = 64 << 20

// maxUpdateAttempts bounds the retries of a conditional update under
// contention.
const maxUpdateAttempts = 64

// ErrNoChange may be returned by an [UpdateJSON] or [UpdateEntryDoc] change
// function to end the update without writing; the update then returns the
// current document and a nil error.
var ErrNoChange = errors.New("no change")

// GetJSON reads the JSON document at key into v and returns its ETag.
func GetJSON(ctx context.Context, s *Storage, key string, v any) (string, error) {
	b, info, err := readDocument(ctx, s, key)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return "", fmt.Errorf("decode %s: %w", key, err)
	}
	return info.ETag, nil
}

// PutJSON writes v as JSON at key with the given conditions.
func PutJSON(ctx context.Context, s *Storage, key string, v any, opts PutOptions) (ObjectInfo, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("encode %s: %w", key, err)
	}
	if opts.ContentType == "" {
		opts.ContentType = "application/json"
	}
	return s.Put(ctx, key, bytes.NewReader(b), int64(len(b)), opts)
}

// UpdateJSON is a lost-update-free read-modify-write of the JSON document at
// key. It reads the document (exists is false and doc is the zero value when
// there is none), calls change, and writes the result back with a conditional
// put: only if the document is still absent, or still has the ETag that was
// read. On a conflict it reads again and calls change again, so change must
// be a pure function of the document it is given. An error from change ends
// the update and is returned unchanged, except [ErrNoChange], which ends it
// without writing and without error.
func UpdateJSON[T any](ctx context.Context, s *Storage, key string, change func(doc *T, exists bool) error) (*T, error) {
	var doc *T
	_, err := updateObject(ctx, s, key, "application/json", func(cur []byte, exists bool) ([]byte, error) {
		doc = new(T)
		if exists {
			if err := json.Unmarshal(cur, doc); err != nil {
				return nil, fmt.Errorf("decode %s: %w", key, err)
			}
		}
		if err := change(doc, exists); err != nil {
			return nil, err
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", key, err)
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// updateObject is the conditional read-modify-write loop under UpdateJSON
// and UpdateEntryDoc: apply turns the current bytes into the new ones; a
// write that finds the object changed reads it again. After ErrNoChange it
// returns the info of the object as read.
func updateObject(ctx context.Context, s *Storage, key, contentType string, apply func(cur []byte, exists bool) ([]byte, error)) (ObjectInfo, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		cur, info, err := readDocument(ctx, s, key)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return ObjectInfo{}, err
		}
		next, err := apply(cur, exists)
		if errors.Is(err, ErrNoChange) {
			return info, nil
		}
		if err != nil {
			return ObjectInfo{}, err
		}
		opts := PutOptions{IfAbsent: !exists, ContentType: contentType}
		if exists {
			opts.IfMatch = info.ETag
		}
		written, err := s.Put(ctx, key, bytes.NewReader(next), int64(len(next)), opts)
		if err == nil {
			return written, nil
		}
		if !errors.Is(err, ErrPreconditionFailed) {
			return ObjectInfo{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return ObjectInfo{}, err
		}
	}
	return ObjectInfo{}, fmt.Errorf("update %s: %w: gave up after %d conflicting attempts", key, ErrConflict, maxUpdateAttempts)
}

// backoff waits a short, random, growing time before the next attempt of a
// contended update, so that writers racing for one document spread out.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Duration(min(attempt+1, 20)) * time.Millisecond
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
