package composer

import (
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// renderDelay is how long a rendering waits after an upload: a burst of
// uploads of one package is rendered once, after its last upload.
const renderDelay = 100 * time.Millisecond

// prerender renders, in the background, the /p2/ files of the document an
// upload wrote (decoding only the versions the cached rendering lacks), so
// that the first read after an upload finds them cached without delaying
// the upload's answer. It waits renderDelay first and renders only if this
// handler wrote no newer version of the document meanwhile; renderings
// run one at a time.
func (h *Handler) prerender(name, baseURL string, ed *core.EntryDoc[packageHead], info core.ObjectInfo) {
	if h.cfg.CacheEntries <= 0 || info.ETag == "" {
		return
	}
	if info.ModTime.IsZero() {
		// A store that does not answer a write with its time: now is no
		// earlier than the write, so If-Modified-Since stays safe.
		info.ModTime = h.now()
	}
	h.renderMu.Lock()
	h.written[name] = info.ETag
	h.renderMu.Unlock()
	h.renders.Go(func() {
		t := time.NewTimer(renderDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-h.closing:
			return
		}
		h.renderMu.Lock()
		defer h.renderMu.Unlock()
		if h.written[name] != info.ETag {
			return // a newer version was written; its own rendering follows
		}
		delete(h.written, name)
		prev := h.files.get(name)
		if prev != nil && (prev.baseURL != baseURL || prev.etag == info.ETag) {
			if prev.etag == info.ETag {
				return
			}
			prev = nil
		}
		if r, err := render(name, ed, info, baseURL, prev); err == nil {
			h.files.put(name, r)
		}
	})
}
