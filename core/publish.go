package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The commit protocol every protocol handler follows to publish an
// artifact (a tarball, a wheel, a crate, a gem, a jar), so that a crash or
// a lost answer at any step leaves nothing half-visible:
//
//  1. Stage: the request body streams into a temporary key from
//     [StageKey], through the hashers, and is verified there.
//  2. Place: [Publish] moves the staged bytes to the artifact's final key
//     ([Storage.Move]: no byte is written twice). The final key is unique to
//     this publication (it holds the staging id), so nothing else is ever
//     at it, and nothing serves it yet.
//  3. Commit: one conditional update of the package's document lists the
//     artifact, by its final key and digest. This is the only step that
//     makes it visible: downloads look the artifact up in the document.
//  4. On failure after step 2, the document is read again: if it lists the
//     artifact (the answer to the write was lost), the publish succeeded;
//     otherwise the placed artifact is deleted.
//
// A retry of an identical artifact (same digest) finds it listed in step 3
// and succeeds; a version or file name once listed is never listed with
// other bytes, so bytes served under a URL never change. What a crash
// leaves — a staged object, or a placed one nobody lists — is invisible;
// a [Sweeper] removes the staged ones by age.

// StageKey returns a fresh temporary key below prefix (which ends in "/")
// for an upload that starts at now. The key sorts by creation time, so
// that a [Sweeper] finds abandoned ones by age from the listing alone.
func StageKey(prefix string, now time.Time) string {
	return StageKeyAt(prefix, now, uuid.NewString())
}

// StageKeyAt is [StageKey] with a given random id (no "/").
func StageKeyAt(prefix string, created time.Time, id string) string {
	return prefix + created.UTC().Format(stageTimeLayout) + "-" + id
}

// stageTimeLayout spells the creation time in a staged key: fixed width, so
// that keys sort by age.
const stageTimeLayout = "20060102T150405.000000000Z"

// StageID returns the part of a staged key after its prefix: a unique,
// time-ordered id to name the artifact's final key with.
func StageID(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// StagedAt returns the creation time recorded in a staged key.
func StagedAt(key string) (time.Time, bool) {
	stamp, _, ok := strings.Cut(StageID(key), "-")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(stageTimeLayout, stamp)
	return t, err == nil
}

// ErrAlreadyListed may be returned by a [Publication]'s Commit when the
// document already lists identical content (a retry): [Publish] then
// removes what it placed and reports success.
var ErrAlreadyListed = errors.New("already listed")

// Publication is one artifact going through the commit protocol.
type Publication struct {
	// Staged is the temporary key holding the verified bytes.
	Staged string
	// Final is the key the artifact is served from, unique to this
	// publication (see [StageID]).
	Final string
	// ContentType is stored with the artifact where the backend keeps one.
	ContentType string
	// Commit lists the artifact at Final in its document, with one
	// conditional update, or returns why not. It returns
	// [ErrAlreadyListed] when the document already lists the same content.
	Commit func(ctx context.Context) error
	// Listed reads the document again and reports whether it lists the
	// artifact at Final; [ErrNotFound] counts as not listed.
	Listed func(ctx context.Context) (bool, error)
}

// Publish runs steps 2 to 4 of the commit protocol for p. The staged object
// is gone afterwards, whatever the outcome. Storage hooks see the move as
// a put of a [KindArtifact] and the commit's writes as [KindMetadata], with
// the package and version ctx names ([WithObject]). An error is Commit's (or the
// storage's), and then the document does not list the artifact.
func Publish(ctx context.Context, s *Storage, p Publication) error {
	artifact := WithKind(ctx, KindArtifact)
	cleanup := context.WithoutCancel(artifact)
	// Final is unique to this publication, so the move needs no condition
	// (on S3 a conditional move costs a multipart copy, an unconditional
	// one a single server-side copy).
	if _, err := s.Move(artifact, p.Staged, p.Final, PutOptions{ContentType: p.ContentType}); err != nil {
		_ = s.Delete(WithKind(cleanup, KindTemporary), p.Staged)
		return fmt.Errorf("place artifact: %w", err)
	}
	err := p.Commit(WithKind(ctx, KindMetadata))
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrAlreadyListed) {
		_ = s.Delete(cleanup, p.Final)
		return nil
	}
	// The write may have happened with its answer lost: ask the document
	// (a document that does not exist lists nothing).
	listed, lerr := p.Listed(WithKind(cleanup, KindMetadata))
	switch {
	case lerr == nil && listed:
		return nil
	case lerr != nil && !errors.Is(lerr, ErrNotFound):
		// Unknown: keep the artifact, which is harmless if unlisted.
		return err
	}
	_ = s.Delete(cleanup, p.Final)
	return err
}
