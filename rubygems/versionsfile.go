package rubygems

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// versionsFile is the compact index's /versions file, shared by all gems
// and append-only: a client holding its first N bytes keeps them valid,
// and asks for the rest with Range: bytes=N-.
//
// It is stored as a base (the file through some log record, see paths.go)
// and a gapless sequence of log records after it, each the line(s) one
// change appended. A change writes one small record, created only if its
// sequence number is free, so that replicas sharing the storage append in
// one order and never overwrite each other; every CompactEvery records a
// new base is written (the same bytes, so the file does not change) and
// records older than the previous base are removed.
//
// Each handler keeps the file in memory and brings it up to date before
// each read and append, reading only the records it has not seen (one
// listing when there are none). MD5 and SHA-256 of the file are kept
// running, so that ETag and Repr-Digest cost nothing per read.
type versionsFile struct {
	s            *core.Storage
	compactEvery int
	now          func() time.Time

	mu      sync.Mutex // guards what follows; held while the file is brought up to date
	loaded  bool
	baseSeq int64
	seq     int64 // the last record in body
	body    []byte
	md5     hash.Hash
	sha     hash.Hash
	gems    map[string]*listedGem // what the file lists per gem
	snap    *versionsSnapshot
	// clock orders arrivals of readers and starts of refreshes;
	// refreshedFrom is the tick at which the last refresh started.
	clock         atomic.Int64
	refreshedFrom int64
}

// listedGem is what /versions lists for one gem, all its lines folded.
type listedGem struct {
	ids []string        // versionIDs listed and not removed, in order
	set map[string]bool // the same, as a set
	md5 string          // of its info file, as the last line says
}

// versionsSnapshot is the file as of one record; immutable.
type versionsSnapshot struct {
	seq    int64
	body   []byte
	md5    string // hex
	sha256 []byte
}

// maxVersionsAttempts bounds the appends that lose a race for the next
// sequence number, and the reloads after a compaction removed records.
const maxVersionsAttempts = 100

// maxUnknownAppends bounds the appends retried after a storage error,
// whose write may or may not have happened.
const maxUnknownAppends = 3

func newVersionsFile(s *core.Storage, compactEvery int, now func() time.Time) *versionsFile {
	return &versionsFile{s: s, compactEvery: compactEvery, now: now}
}

// current brings the file up to date and returns it.
func (v *versionsFile) current(ctx context.Context) (*versionsSnapshot, error) {
	var snap *versionsSnapshot
	err := v.withGems(ctx, func(int64, map[string]*listedGem) { snap = v.snap })
	return snap, err
}

// withGems brings the file up to date and calls fn with what it lists per
// gem, under the lock (fn must not keep the map). Readers that arrive
// while a refresh runs share the next one: a refresh that started after a
// reader arrived read storage late enough for it, so concurrent reads cost
// one refresh, not one each.
func (v *versionsFile) withGems(ctx context.Context, fn func(seq int64, gems map[string]*listedGem)) error {
	arrived := v.clock.Add(1)
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.loaded || v.refreshedFrom < arrived {
		started := v.clock.Add(1)
		if err := v.refresh(ctx); err != nil {
			return err
		}
		v.refreshedFrom = started
	}
	fn(v.seq, v.gems)
	return nil
}

// refresh reads the records written since the last refresh: it reads
// record seq+1, seq+2, … until one is missing, then looks at the bases (at
// most two are kept): a base past the last record read means records were
// compacted away before this handler read them, and the file is read again
// from that base. Up to date, that is one read that finds nothing and one
// listing of two keys, however long the file and the log are.
func (v *versionsFile) refresh(ctx context.Context) error {
	ctx = core.WithKind(ctx, core.KindIndex)
	for range maxVersionsAttempts {
		if !v.loaded {
			if err := v.loadBase(ctx, -1); err != nil {
				return err
			}
		}
		if err := v.readLog(ctx); err != nil {
			return err
		}
		newest, err := v.newestBase(ctx)
		if err != nil {
			return err
		}
		if newest <= v.seq {
			return nil
		}
		if err := v.loadBase(ctx, newest); err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
	}
	return fmt.Errorf("read /versions: %w: the log keeps changing under the reader", core.ErrConflict)
}

// newestBase returns the sequence number of the newest base, -1 for none.
func (v *versionsFile) newestBase(ctx context.Context) (int64, error) {
	newest := int64(-1)
	opts := core.ListOptions{}
	for {
		page, err := v.s.List(ctx, basePrefix, opts)
		if err != nil {
			return 0, fmt.Errorf("list /versions bases: %w", err)
		}
		for _, o := range page.Objects {
			if n, ok := seqOf(o.Key); ok && n > newest {
				newest = n
			}
		}
		if page.NextStartAfter == "" {
			return newest, nil
		}
		opts.StartAfter = page.NextStartAfter
	}
}

// loadBase reads base seq (the newest when seq is negative), creating the
// first one (the header) when there is none.
func (v *versionsFile) loadBase(ctx context.Context, seq int64) error {
	if seq < 0 {
		newest, err := v.newestBase(ctx)
		if err != nil {
			return err
		}
		if newest < 0 {
			header := []byte("created_at: " + v.now().UTC().Format(time.RFC3339) + "\n---\n")
			if _, err := v.s.Put(ctx, baseKey(0), bytes.NewReader(header), int64(len(header)),
				core.PutOptions{IfAbsent: true, ContentType: "text/plain; charset=utf-8"}); err != nil && !errors.Is(err, core.ErrPreconditionFailed) {
				return fmt.Errorf("create /versions: %w", err)
			}
			newest = 0
		}
		seq = newest
	}
	rc, _, err := v.s.Get(ctx, baseKey(seq), nil)
	if err != nil {
		return fmt.Errorf("read /versions base: %w", err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("read /versions base: %w", err)
	}
	v.baseSeq, v.seq, v.body = seq, seq, nil
	v.md5, v.sha = md5.New(), sha256.New()
	v.gems = map[string]*listedGem{}
	v.appendBody(body)
	v.loaded = true
	return nil
}

// readLog appends the records after v.seq, reading them one by one until
// one is missing.
func (v *versionsFile) readLog(ctx context.Context) error {
	for {
		rc, _, err := v.s.Get(ctx, logKey(v.seq+1), nil)
		if errors.Is(err, core.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read /versions log: %w", err)
		}
		rec, err := io.ReadAll(io.LimitReader(rc, maxRecord+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("read /versions log: %w", err)
		}
		v.seq++
		v.appendBody(rec)
	}
}

// maxRecord bounds one log record (one line: a gem name, the versions one
// change added or removed, an MD5).
const maxRecord = 1 << 20

// appendBody appends bytes to the file, folds its lines into v.gems and
// takes a new snapshot.
func (v *versionsFile) appendBody(b []byte) {
	start := len(v.body)
	v.body = append(v.body, b...)
	v.md5.Write(b)
	v.sha.Write(b)
	// Lines before the "---" of the header are not gem lines.
	lines := v.body[start:]
	if start == 0 {
		if i := bytes.Index(lines, []byte("\n---\n")); i >= 0 {
			lines = lines[i+5:]
		} else if bytes.HasPrefix(lines, []byte("---\n")) {
			lines = lines[4:]
		}
	}
	for line := range strings.SplitSeq(string(lines), "\n") {
		v.fold(line)
	}
	v.snap = &versionsSnapshot{seq: v.seq, body: v.body[:len(v.body):len(v.body)],
		md5: hex.EncodeToString(v.md5.Sum(nil)), sha256: v.sha.Sum(nil)}
}

// fold applies one line, "<name> <v>,-<v>,… <md5>", to v.gems.
func (v *versionsFile) fold(line string) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return
	}
	g := v.gems[f[0]]
	if g == nil {
		g = &listedGem{set: map[string]bool{}}
		v.gems[f[0]] = g
	}
	for id := range strings.SplitSeq(f[1], ",") {
		if gone, ok := strings.CutPrefix(id, "-"); ok {
			if g.set[gone] {
				delete(g.set, gone)
				g.ids = slices.DeleteFunc(g.ids, func(s string) bool { return s == gone })
			}
		} else if !g.set[id] {
			g.set[id] = true
			g.ids = append(g.ids, id)
		}
	}
	g.md5 = f[2]
}

// sync appends to the file what it does not yet say about a gem: the
// versions its info file serves that the file does not list, and a
// removal ("-<version>") of those it lists that the info file no longer
// serves. info is called after the file is up to date and returns the
// gem's current info file (nil when the gem has none), so that the line is
// computed against the file it extends. Replicas race for the next
// sequence number; the loser reads the winner's record and computes again,
// so that every version is listed once.
func (v *versionsFile) sync(ctx context.Context, name string, info func() (*served, error)) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	ctx = core.WithKind(ctx, core.KindIndex)
	failures := 0
	for range maxVersionsAttempts {
		if err := v.refresh(ctx); err != nil {
			return err
		}
		f, err := info()
		if err != nil {
			return err
		}
		line := diffLine(name, v.gems[name], f)
		if line == "" {
			return nil
		}
		next := v.seq + 1
		_, err = v.s.Put(ctx, logKey(next), strings.NewReader(line), int64(len(line)),
			core.PutOptions{IfAbsent: true, ContentType: "text/plain; charset=utf-8"})
		if errors.Is(err, core.ErrPreconditionFailed) {
			continue // another replica appended first: read its record, compute again
		}
		if err != nil {
			// The record may have been written with its answer lost: read
			// the log again, which finds it (and then nothing is left to
			// append), a few times before giving up.
			if failures++; failures > maxUnknownAppends || core.HTTPStatus(err) != http.StatusInternalServerError {
				return fmt.Errorf("append to /versions: %w", err)
			}
			continue
		}
		// A compaction may have removed record next (with every record up
		// to a base past it) between the refresh and this write, which
		// then re-created a sequence number a base already covers: such a
		// record is not part of the file. A base is only ever made past
		// what its writer read, and the newest is never removed, so a base
		// at or past next tells; then the record goes and the line is
		// computed again against that base.
		newest, err := v.newestBase(ctx)
		if err != nil {
			return err
		}
		if newest >= next {
			_ = v.s.Delete(ctx, logKey(next))
			continue
		}
		v.seq = next
		v.appendBody([]byte(line))
		if v.seq-v.baseSeq >= int64(v.compactEvery) {
			v.compact(ctx)
		}
		return nil
	}
	return fmt.Errorf("append to /versions: %w: gave up after %d conflicting attempts", core.ErrConflict, maxVersionsAttempts)
}

// served is what a gem's info file serves: its MD5 (hex), its versionIDs
// in order (computed only when needed), and what the document's last
// change did: the MD5 before it, and the version it appended ("" when it
// was no push).
type served struct {
	md5     string
	ids     func() []string
	prevMD5 string
	added   string
}

// diffLine is the line that brings what /versions lists for a gem (listed,
// nil for none) in line with what its info file serves (nil: nothing), or
// "" when they agree. When /versions agrees with the document as it was
// before its last change, and that change appended a version, the line is
// that version: the common case of a push costs nothing per version.
func diffLine(name string, listed *listedGem, f *served) string {
	if f == nil {
		return ""
	}
	if listed != nil && f.added != "" && listed.md5 == f.prevMD5 && !listed.set[f.added] {
		return name + " " + f.added + " " + f.md5 + "\n"
	}
	var parts []string
	ids := f.ids()
	now := make(map[string]bool, len(ids))
	for _, id := range ids {
		now[id] = true
		if listed == nil || !listed.set[id] {
			parts = append(parts, id)
		}
	}
	if listed != nil {
		for _, id := range listed.ids {
			if !now[id] {
				parts = append(parts, "-"+id)
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return name + " " + strings.Join(parts, ",") + " " + f.md5 + "\n"
}

// compact writes the file as a new base and removes what the previous
// base made unnecessary: records up to it and older bases. Readers that
// have not seen the records since the previous base still find them.
// Failures are harmless (the records stay).
func (v *versionsFile) compact(ctx context.Context) {
	prev := v.baseSeq
	body := v.snap.body
	if _, err := v.s.Put(ctx, baseKey(v.seq), bytes.NewReader(body), int64(len(body)),
		core.PutOptions{IfAbsent: true, ContentType: "text/plain; charset=utf-8"}); err != nil && !errors.Is(err, core.ErrPreconditionFailed) {
		return
	}
	v.baseSeq = v.seq
	for _, prefix := range []string{logPrefix, basePrefix} {
		page, err := v.s.List(ctx, prefix, core.ListOptions{})
		if err != nil {
			continue
		}
		for _, o := range page.Objects {
			n, ok := seqOf(o.Key)
			if ok && (n <= prev && prefix == logPrefix || n < prev && prefix == basePrefix) {
				_ = v.s.Delete(ctx, o.Key)
			}
		}
	}
}
