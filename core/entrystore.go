package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// How an EntryDoc is stored, so that a change costs the same however many
// entries the document holds.
//
// The object at the document's key (the root) holds the head, the list of
// sealed segments, and the tail: the changes since the last seal, as
// operations. A segment is an immutable object beside the root holding
// operations too. The document is the replay, in order, of every segment's
// operations and then the tail's:
//
//	<key>                        the root, rewritten by every change:
//	    <head JSON>\n
//	    \t+<segment>\t<size>\n    one line per segment, oldest first
//	    <id>\t<data>\n            set entry id (appended if new, else replaced in place)
//	    \t-<id>\n                 delete entry id
//	<key>.seg/<segment>          a sealed segment: set and delete lines
//
// A change rewrites only the root, whose tail holds the changes since the
// last seal (the operations the change recorded, merged into the tail it
// read). Once the tail is over tailLimit bytes or tailOps operations it is
// sealed into a new segment, written before the root that names it under
// a fresh name, so nothing is visible until the root's conditional write.
// Trailing segments are then merged while the one before is no more than
// twice the size of the last: there are O(log n) segments and each byte
// is rewritten O(log n) times, which keeps a change's cost flat in the
// number of entries. Merged-away segments are deleted once the root no
// longer names them; a reader that misses one reads the root again.
//
// A document written in the original format (head and set lines only) is
// a root with no segments, so old documents read unchanged.

// tailLimit and tailOps are the size and the number of operations past
// which a document's tail is sealed into a segment: an update reads,
// merges and writes its tail, so both bound its cost.
const (
	tailLimit = 16 << 10
	tailOps   = 32
)

// maxSegmentRetries bounds how often a reader reads the root again after a
// segment it names was merged away underneath it.
const maxSegmentRetries = 8

// entryOp is one operation of a tail or segment.
type entryOp struct {
	id   string
	data []byte
	del  bool
}

// segmentRef names a sealed segment in a root.
type segmentRef struct {
	name string
	size int64
}

// entryRoot is a decoded root object.
type entryRoot struct {
	head []byte
	segs []segmentRef
	tail []entryOp
}

func segmentKey(key, name string) string { return key + ".seg/" + name }

// segmentsSig identifies a list of segments, for the cache.
func segmentsSig(segs []segmentRef) string {
	var b []byte
	for _, s := range segs {
		b = append(b, s.name...)
		b = append(b, ',')
	}
	return string(b)
}

// parseRoot decodes a root. The operations keep referring to b.
func parseRoot(b []byte) (entryRoot, error) {
	head, rest, _ := bytes.Cut(b, []byte{'\n'})
	r := entryRoot{head: head}
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		if seg, ok := bytes.CutPrefix(line, []byte("\t+")); ok {
			name, size, ok := bytes.Cut(seg, []byte{'\t'})
			n, err := strconv.ParseInt(string(size), 10, 64)
			if !ok || err != nil || len(name) == 0 {
				return r, fmt.Errorf("decode document: malformed segment line %.40q", line)
			}
			r.segs = append(r.segs, segmentRef{name: string(name), size: n})
			continue
		}
		op, err := parseOp(line)
		if err != nil {
			return r, err
		}
		r.tail = append(r.tail, op)
	}
	return r, nil
}

func parseOp(line []byte) (entryOp, error) {
	if id, ok := bytes.CutPrefix(line, []byte("\t-")); ok && len(id) > 0 {
		return entryOp{id: string(id), del: true}, nil
	}
	id, val, ok := bytes.Cut(line, []byte{'\t'})
	if !ok || len(id) == 0 {
		return entryOp{}, fmt.Errorf("decode document: malformed entry line %.40q", line)
	}
	return entryOp{id: string(id), data: val[:len(val):len(val)]}, nil
}

// parseOps decodes a segment.
func parseOps(b []byte) ([]entryOp, error) {
	ops := make([]entryOp, 0, bytes.Count(b, []byte{'\n'}))
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		op, err := parseOp(line)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func appendOps(buf []byte, ops []entryOp) []byte {
	for _, o := range ops {
		if o.del {
			buf = append(buf, "\t-"...)
			buf = append(buf, o.id...)
		} else {
			buf = append(buf, o.id...)
			buf = append(buf, '\t')
			buf = append(buf, o.data...)
		}
		buf = append(buf, '\n')
	}
	return buf
}

func opsSize(ops []entryOp) int {
	n := 0
	for _, o := range ops {
		n += len(o.id) + len(o.data) + 2
	}
	return n
}

func (r *entryRoot) encode() []byte {
	n := len(r.head) + 1 + opsSize(r.tail)
	for _, s := range r.segs {
		n += len(s.name) + 24
	}
	buf := make([]byte, 0, n)
	buf = append(buf, r.head...)
	buf = append(buf, '\n')
	for _, s := range r.segs {
		buf = append(buf, "\t+"...)
		buf = append(buf, s.name...)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, s.size, 10)
		buf = append(buf, '\n')
	}
	return appendOps(buf, r.tail)
}

// entries is an ordered set of entries under replay. Deleted positions
// are left empty until compact.
type entries struct {
	ids   []string
	data  [][]byte
	index map[string]int
	dead  int
}

func (e *entries) apply(ops []entryOp) {
	if e.index == nil {
		e.index = make(map[string]int, len(e.ids)+len(ops))
		for i, id := range e.ids {
			if id != "" {
				e.index[id] = i
			}
		}
	}
	for _, o := range ops {
		i, ok := e.index[o.id]
		switch {
		case o.del && ok:
			e.ids[i], e.data[i] = "", nil
			delete(e.index, o.id)
			e.dead++
		case o.del:
		case ok:
			e.data[i] = o.data
		default:
			e.index[o.id] = len(e.ids)
			e.ids = append(e.ids, o.id)
			e.data = append(e.data, o.data)
		}
	}
}

// compact removes deleted positions; the index is rebuilt when next needed.
func (e *entries) compact() {
	if e.dead == 0 {
		return
	}
	ids, data := e.ids[:0:0], e.data[:0:0]
	for i, id := range e.ids {
		if id != "" {
			ids = append(ids, id)
			data = append(data, e.data[i])
		}
	}
	e.ids, e.data, e.index, e.dead = ids, data, nil, 0
}

// mergeOps merges two consecutive operation lists into one with the same
// effect on any document: both are folded, so that for each id what is
// left is its last set, or one delete, or a delete and then a set. With
// oldest set (a is the first segment) the deletes are dropped, there being
// nothing before a to delete from.
func mergeOps(a, b []entryOp, oldest bool) []entryOp {
	out := make([]entryOp, 0, len(a)+len(b))
	last := make(map[string]int, len(a)+len(b))
	removed := false
	for _, ops := range [][]entryOp{a, b} {
		for _, o := range ops {
			i, seen := last[o.id]
			switch {
			case o.del && seen:
				// Everything before about this id collapses into one delete.
				for j := range out {
					if out[j].id == o.id {
						out[j].id = ""
					}
				}
				removed = true
				last[o.id] = len(out)
				out = append(out, o)
			case !o.del && seen && !out[i].del:
				out[i].data = o.data
			default:
				last[o.id] = len(out)
				out = append(out, o)
			}
		}
	}
	if !removed && !oldest {
		return out
	}
	kept := out[:0]
	for _, o := range out {
		if o.id != "" && !(oldest && o.del) {
			kept = append(kept, o)
		}
	}
	return kept
}

func sameBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return bytes.Equal(a, b)
}

func newSegmentName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// loadBase returns the replay of the segments of the document at key,
// from the cache or from storage. ErrNotFound means a segment is gone
// (merged away by a writer since the root was read).
func (s *Storage) loadBase(ctx context.Context, key string, segs []segmentRef) (*entries, error) {
	if len(segs) == 0 {
		return &entries{index: map[string]int{}}, nil
	}
	sig := segmentsSig(segs)
	if b, ok := s.segments.base(key, sig); ok {
		return b, nil
	}
	e := &entries{}
	var size int64
	for _, ref := range segs {
		ops, err := s.segmentOps(ctx, key, ref)
		if err != nil {
			return nil, err
		}
		e.apply(ops)
		size += ref.size
	}
	e.compact()
	e.apply(nil) // build the index
	s.segments.putBase(key, sig, e, size)
	return e, nil
}

// segmentOps reads and decodes one segment.
func (s *Storage) segmentOps(ctx context.Context, key string, ref segmentRef) ([]entryOp, error) {
	b, _, err := readDocument(ctx, s, segmentKey(key, ref.name))
	if err != nil {
		return nil, err
	}
	ops, err := parseOps(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", segmentKey(key, ref.name), err)
	}
	return ops, nil
}

// seal writes ops as a new segment after segs and merges trailing
// segments as the layout above says. It returns the new segment list,
// the names it wrote (to delete should the root's write fail) and the
// segments it replaced (to delete once the root no longer names them).
func (s *Storage) seal(ctx context.Context, key string, segs []segmentRef, ops []entryOp) (next []segmentRef, written, replaced []string, err error) {
	next = append(segs[:len(segs):len(segs)], segmentRef{})
	last := ops
	k := len(next) - 1
	for k > 0 && next[k-1].size <= 2*int64(opsSize(last)) {
		prev, err := s.segmentOps(ctx, key, next[k-1])
		if err != nil {
			return nil, written, nil, err
		}
		replaced = append(replaced, next[k-1].name)
		last = mergeOps(prev, last, k-1 == 0)
		k--
	}
	name := newSegmentName()
	body := appendOps(nil, last)
	if _, err := s.Put(ctx, segmentKey(key, name), bytes.NewReader(body), int64(len(body)),
		PutOptions{IfAbsent: true, ContentType: "application/x-ndjson"}); err != nil {
		return nil, written, nil, fmt.Errorf("write segment of %s: %w", key, err)
	}
	written = append(written, name)
	next = append(next[:k], segmentRef{name: name, size: int64(len(body))})
	return next, written, replaced, nil
}

// dropSegments deletes segments of the document at key, best effort.
func (s *Storage) dropSegments(ctx context.Context, key string, names []string) {
	ctx = context.WithoutCancel(ctx)
	for _, n := range names {
		if err := s.Delete(ctx, segmentKey(key, n)); err != nil && !errors.Is(err, ErrNotFound) {
			return
		}
	}
}
