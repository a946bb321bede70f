package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
)

// EntryDoc is a document that grows with a package: a small JSON head and
// one entry per version or file, each an id and opaque bytes. Its line
// format (MarshalBinary) is
//
//	<head as JSON>\n
//	<id>\t<data>\n
//	<id>\t<data>\n
//	…
//
// Decoding splits the lines and decodes only the head: entry data stays
// the stored bytes (a slice of the buffer that was read, neither copied nor
// parsed) until a caller looks at one entry. In storage, [UpdateEntryDoc]
// keeps the document as a root object holding the head and the recent
// changes plus immutable sealed segments beside it (see entrystore.go), so
// that a change writes what changed, not the whole document, and
// publishing stays cheap as a package grows.
//
// An id is non-empty and holds no tab or newline; data holds no newline
// (compact JSON never does). Entries keep the order in which they were
// first set. Change an EntryDoc only through [UpdateEntryDoc].
type EntryDoc[H any] struct {
	// Head is the document's small part, stored as JSON on the first line.
	Head H
	ids  []string
	data [][]byte
	// shared, when not nil, is the read-only index of a cached replay
	// (see entrystore.go) whose entries ids begins with: read, a document
	// shares it instead of indexing every entry again. index holds the
	// positions of the entries shared does not know; indexed says that
	// the two together cover every entry.
	shared  map[string]int
	index   map[string]int
	indexed bool
	// ops records the changes since recording started, for UpdateEntryDoc
	// to store; nil when not recording.
	ops      []entryOp
	recordOn bool
}

// Len returns the number of entries.
func (d *EntryDoc[H]) Len() int { return len(d.ids) }

func (d *EntryDoc[H]) indexOf(id string) (int, bool) {
	if !d.indexed {
		d.index = make(map[string]int, len(d.ids))
		for i, k := range d.ids {
			d.index[k] = i
		}
		d.shared, d.indexed = nil, true
	}
	if i, ok := d.index[id]; ok {
		return i, true
	}
	i, ok := d.shared[id]
	return i, ok
}

// Get returns the data of entry id. The caller must not modify it.
func (d *EntryDoc[H]) Get(id string) ([]byte, bool) {
	if i, ok := d.indexOf(id); ok {
		return d.data[i], true
	}
	return nil, false
}

// Set replaces the data of entry id, or appends a new entry.
func (d *EntryDoc[H]) Set(id string, data []byte) error {
	if id == "" || strings.ContainsAny(id, "\t\n") {
		return fmt.Errorf("%w: entry id %q is empty or holds a tab or newline", ErrInvalidArgument, id)
	}
	if bytes.IndexByte(data, '\n') >= 0 {
		return fmt.Errorf("%w: entry %q holds a newline", ErrInvalidArgument, id)
	}
	if i, ok := d.indexOf(id); ok {
		if !sameBytes(d.data[i], data) {
			d.record(entryOp{id: id, data: data})
		}
		d.data[i] = data
		return nil
	}
	d.record(entryOp{id: id, data: data})
	d.index[id] = len(d.ids)
	d.ids = append(d.ids, id)
	d.data = append(d.data, data)
	return nil
}

// Delete removes entry id and reports whether it was there. It costs a
// pass over the entries.
func (d *EntryDoc[H]) Delete(id string) bool {
	i, ok := d.indexOf(id)
	if !ok {
		return false
	}
	d.record(entryOp{id: id, del: true})
	d.ids = append(d.ids[:i:i], d.ids[i+1:]...)
	d.data = append(d.data[:i:i], d.data[i+1:]...)
	d.shared, d.index, d.indexed = nil, nil, false
	return true
}

func (d *EntryDoc[H]) record(op entryOp) {
	if d.recordOn {
		d.ops = append(d.ops, op)
	}
}

// All yields the entries in order.
func (d *EntryDoc[H]) All() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for i, id := range d.ids {
			if !yield(id, d.data[i]) {
				return
			}
		}
	}
}

// MarshalBinary encodes the document in its line format.
func (d *EntryDoc[H]) MarshalBinary() ([]byte, error) {
	head, err := json.Marshal(d.Head)
	if err != nil {
		return nil, fmt.Errorf("encode document head: %w", err)
	}
	n := len(head) + 1
	for i, id := range d.ids {
		n += len(id) + len(d.data[i]) + 2
	}
	buf := make([]byte, 0, n)
	buf = append(buf, head...)
	buf = append(buf, '\n')
	for i, id := range d.ids {
		buf = append(buf, id...)
		buf = append(buf, '\t')
		buf = append(buf, d.data[i]...)
		buf = append(buf, '\n')
	}
	return buf, nil
}

// UnmarshalBinary decodes a document in the line format. The entries keep
// referring to b, which the caller must not modify afterwards.
func (d *EntryDoc[H]) UnmarshalBinary(b []byte) error {
	head, rest, _ := bytes.Cut(b, []byte{'\n'})
	var h H
	if err := json.Unmarshal(head, &h); err != nil {
		return fmt.Errorf("decode document head: %w", err)
	}
	n := bytes.Count(rest, []byte{'\n'})
	ids, data := make([]string, 0, n), make([][]byte, 0, n)
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		id, val, ok := bytes.Cut(line, []byte{'\t'})
		if !ok || len(id) == 0 {
			return fmt.Errorf("decode document: malformed entry line %.40q", line)
		}
		ids = append(ids, string(id))
		data = append(data, val[:len(val):len(val)])
	}
	*d = EntryDoc[H]{Head: h, ids: ids, data: data}
	return nil
}

// GetEntryDoc reads the document at key and returns it with the stored
// object's info: the ETag and LastModified of the document's root object,
// which change with every update (the ETag names this version of the
// document), and the Size of the whole document as stored.
func GetEntryDoc[H any](ctx context.Context, s *Storage, key string) (*EntryDoc[H], ObjectInfo, error) {
	for attempt := 0; ; attempt++ {
		d, _, info, err := readEntryDoc[H](ctx, s, key)
		if errors.Is(err, errSegmentGone) && attempt < maxSegmentRetries {
			continue
		}
		return d, info, err
	}
}

// errSegmentGone: a segment the root named was merged away since.
var errSegmentGone = errors.New("document segment replaced")

// readEntryDoc reads the document at key, and returns it with the root
// object it was read from.
func readEntryDoc[H any](ctx context.Context, s *Storage, key string) (*EntryDoc[H], entryRoot, ObjectInfo, error) {
	b, info, err := readDocument(ctx, s, key)
	if err != nil {
		return nil, entryRoot{}, info, err
	}
	root, err := parseRoot(b)
	if err != nil {
		return nil, root, info, fmt.Errorf("%s: %w", key, err)
	}
	d := new(EntryDoc[H])
	if err := json.Unmarshal(root.head, &d.Head); err != nil {
		return nil, root, info, fmt.Errorf("%s: decode document head: %w", key, err)
	}
	base, err := s.loadBase(ctx, key, root.segs)
	if errors.Is(err, ErrNotFound) {
		return nil, root, info, fmt.Errorf("%s: %w", key, errSegmentGone)
	}
	if err != nil {
		return nil, root, info, err
	}
	// The replay of the segments is shared (and cached): copy its entry
	// lists, share its index, then apply the tail.
	d.ids, d.data = slices.Clone(base.ids), slices.Clone(base.data)
	d.shared, d.index, d.indexed = base.index, make(map[string]int, len(root.tail)), true
	for _, op := range root.tail {
		if op.del {
			d.Delete(op.id)
		} else if err := d.Set(op.id, op.data); err != nil {
			return nil, root, info, fmt.Errorf("%s: %w", key, err)
		}
	}
	info.Size += segmentsSize(root.segs)
	return d, root, info, nil
}

// UpdateEntryDoc is a lost-update-free read-modify-write of the document at
// key, with the semantics of [UpdateJSON]: change gets the current
// document (empty, with exists false, when there is none) and must be a
// pure function of it; [ErrNoChange] ends the update without writing. It
// returns the document as written (or as read, after ErrNoChange) and its
// info as [GetEntryDoc] gives it.
//
// Its cost does not grow with the number of entries: it writes the
// document's head and what changed since the last seal (see the storage
// layout in entrystore.go), and reads what it has not cached.
func UpdateEntryDoc[H any](ctx context.Context, s *Storage, key string, change func(d *EntryDoc[H], exists bool) error) (*EntryDoc[H], ObjectInfo, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		doc, read, info, err := readEntryDoc[H](ctx, s, key)
		exists := err == nil
		switch {
		case errors.Is(err, errSegmentGone):
			continue
		case errors.Is(err, ErrNotFound):
			doc, read = new(EntryDoc[H]), entryRoot{}
		case err != nil:
			return nil, info, err
		}
		doc.ops, doc.recordOn = nil, true
		err = change(doc, exists)
		ops := doc.ops
		doc.ops, doc.recordOn = nil, false
		if errors.Is(err, ErrNoChange) {
			return doc, info, nil
		} else if err != nil {
			return nil, ObjectInfo{}, err
		}
		head, err := json.Marshal(doc.Head)
		if err != nil {
			return nil, ObjectInfo{}, fmt.Errorf("encode document head: %w", err)
		}
		root := entryRoot{head: head, segs: read.segs, tail: mergeOps(read.tail, ops, len(read.segs) == 0)}
		var written, replaced []string
		if len(root.tail) > tailOps || opsSize(root.tail) > tailLimit {
			root.segs, written, replaced, err = s.seal(ctx, key, root.segs, root.tail)
			if errors.Is(err, ErrNotFound) {
				s.dropSegments(ctx, key, written)
				continue
			}
			if err != nil {
				s.dropSegments(ctx, key, written)
				return nil, ObjectInfo{}, err
			}
			root.tail = nil
		}
		body := root.encode()
		opts := PutOptions{IfAbsent: !exists, ContentType: "application/x-ndjson"}
		if exists {
			opts.IfMatch = info.ETag
		}
		out, err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body)), opts)
		if err == nil {
			if written != nil {
				s.segments.putBase(key, segmentsSig(root.segs), doc.snapshot(), segmentsSize(root.segs))
				s.dropSegments(ctx, key, replaced)
			}
			out.Size += segmentsSize(root.segs)
			return doc, out, nil
		}
		if written != nil && errors.Is(err, ErrPreconditionFailed) {
			s.dropSegments(ctx, key, written)
		}
		if !errors.Is(err, ErrPreconditionFailed) {
			return nil, ObjectInfo{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, ObjectInfo{}, err
		}
	}
	return nil, ObjectInfo{}, fmt.Errorf("update %s: %w: gave up after %d conflicting attempts", key, ErrConflict, maxUpdateAttempts)
}

func segmentsSize(segs []segmentRef) int64 {
	var n int64
	for _, s := range segs {
		n += s.size
	}
	return n
}

// snapshot copies the entries, for the segment cache.
func (d *EntryDoc[H]) snapshot() *entries {
	e := &entries{ids: slices.Clone(d.ids), data: slices.Clone(d.data)}
	e.apply(nil) // builds the index
	return e
}

// readDocument reads a whole metadata document, refusing one over
// MaxJSONDocument bytes.
func readDocument(ctx context.Context, s *Storage, key string) ([]byte, ObjectInfo, error) {
	rc, info, err := s.Get(ctx, key, nil)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	if info.Size > MaxJSONDocument {
		return nil, info, fmt.Errorf("document %s is over %d bytes", key, MaxJSONDocument)
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(info.Size, 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(rc, MaxJSONDocument+1)); err != nil {
		return nil, info, fmt.Errorf("read %s: %w", key, err)
	}
	if buf.Len() > MaxJSONDocument {
		return nil, info, fmt.Errorf("document %s is over %d bytes", key, MaxJSONDocument)
	}
	return buf.Bytes(), info, nil
}
