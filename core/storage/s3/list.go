package s3

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/smartregistry/smartregistry/core"
)

// List asks ListObjectsV2 for one entry more than the page holds, merges
// its objects and common prefixes into key order, and cuts the page with
// [core.PageOf], which also decides NextStartAfter the way the other
// backends do. It asks again only if the server returned a short truncated
// response.
func (b *Backend) List(ctx context.Context, prefix string, opts core.ListOptions) (core.ListPage, error) {
	opts, err := core.CheckListing(prefix, opts)
	if err != nil {
		return core.ListPage{}, err
	}
	var listErr error
	entries := func(yield func(core.ObjectInfo) bool) {
		listErr = b.listEntries(ctx, prefix, opts, min(opts.Limit+1, core.DefaultListLimit), yield)
	}
	page := core.PageOf(entries, prefix, opts.Delimiter, opts.StartAfter, opts.Limit)
	if listErr != nil {
		return core.ListPage{}, mapError("list", prefix, listErr)
	}
	return page, nil
}

// listEntries yields the objects under prefix after opts.StartAfter in key
// order, and each common prefix as an entry whose key is the prefix itself
// (PageOf folds it back), requesting maxKeys entries at a time.
func (b *Backend) listEntries(ctx context.Context, prefix string, opts core.ListOptions, maxKeys int, yield func(core.ObjectInfo) bool) error {
	startAfter := ""
	if opts.StartAfter != "" {
		startAfter = b.name(opts.StartAfter)
	}
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := b.core.ListObjectsV2(b.bucket, b.name(prefix), startAfter, token, opts.Delimiter, maxKeys)
		if err != nil {
			return err
		}
		for e := range b.merged(res) {
			if !yield(e) {
				return nil
			}
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return nil
		}
		token = res.NextContinuationToken
	}
}

// merged yields one response's objects and common prefixes, each sorted by
// the server, merged into key order, with the backend's prefix removed.
func (b *Backend) merged(res minio.ListBucketV2Result) iter.Seq[core.ObjectInfo] {
	objs := make([]core.ObjectInfo, 0, len(res.Contents)+len(res.CommonPrefixes))
	for _, o := range res.Contents {
		objs = append(objs, objectInfo(strings.TrimPrefix(o.Key, b.prefix), o))
	}
	for _, p := range res.CommonPrefixes {
		objs = append(objs, core.ObjectInfo{Key: strings.TrimPrefix(p.Prefix, b.prefix)})
	}
	slices.SortFunc(objs, func(x, y core.ObjectInfo) int { return strings.Compare(x.Key, y.Key) })
	return slices.Values(objs)
}
