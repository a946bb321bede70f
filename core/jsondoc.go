package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// MaxJSONDocument bounds the size of a metadata document read by [GetJSON]
// and [UpdateJSON].
const MaxJSONDocument = 64 << 20

// maxUpdateAttempts bounds the retries of [UpdateJSON] under contention.
const maxUpdateAttempts = 64

// ErrNoChange may be returned by an [UpdateJSON] change function to end the
// update without writing; UpdateJSON then returns the current document and
// a nil error.
var ErrNoChange = errors.New("no change")

// GetJSON reads the JSON document at key into v and returns its ETag.
func GetJSON(ctx context.Context, s *Storage, key string, v any) (string, error) {
	rc, info, err := s.Get(ctx, key, nil)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxJSONDocument+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	if len(b) > MaxJSONDocument {
		return "", fmt.Errorf("document %s is over %d bytes", key, MaxJSONDocument)
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
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc := new(T)
		etag, err := GetJSON(ctx, s, key, doc)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if !exists {
			doc = new(T)
		}
		if err := change(doc, exists); err != nil {
			if errors.Is(err, ErrNoChange) {
				return doc, nil
			}
			return nil, err
		}
		opts := PutOptions{IfAbsent: !exists, IfMatch: etag}
		if !exists {
			opts.IfMatch = ""
		}
		_, err = PutJSON(ctx, s, key, doc, opts)
		if err == nil {
			return doc, nil
		}
		if !errors.Is(err, ErrPreconditionFailed) {
			return nil, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("update %s: %w: gave up after %d conflicting attempts", key, ErrConflict, maxUpdateAttempts)
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
