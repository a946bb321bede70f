package storagetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

const (
	// LargeObjectSize is the size of the stream of [RunLargeObject]; with
	// -short it is LargeObjectShortSize.
	LargeObjectSize = 1 << 30
	// LargeObjectShortSize is the size of the stream with -short.
	LargeObjectShortSize = 128 << 20
	// MaxLargeObjectHeap bounds the Go heap in use while [RunLargeObject]
	// streams.
	MaxLargeObjectHeap = 64 << 20
)

// RunLargeObject puts a generated 1 GiB stream of unknown length, gets it
// back streamed into a hash, compares the digests, and fails if the Go heap
// in use (HeapInuse, sampled throughout) ever exceeds MaxLargeObjectHeap. It
// is for backends that store data outside the process (not memory). It
// samples the whole process's heap, so it must not run in parallel with
// other tests.
func RunLargeObject(t *testing.T, factory Factory) {
	size := int64(LargeObjectSize)
	if testing.Short() {
		size = LargeObjectShortSize
	}
	e := newEnv(t, factory)
	ctx := t.Context()
	runtime.GC()
	peak := sampleHeap(t)

	h := sha256.New()
	// TeeReader hides the source's type: the backend sees a plain stream.
	src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{'s', 'r'}), size), h)
	info, err := e.b.Put(ctx, "large/object", src, -1, core.PutOptions{})
	if err != nil {
		t.Fatalf("put %d bytes: %v", size, err)
	}
	e.remove(t, "large/object")
	if info.Size != size {
		t.Errorf("put: size %d, want %d", info.Size, size)
	}
	wantSum := h.Sum(nil)

	rc, info, err := e.b.Get(ctx, "large/object", nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	h.Reset()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || info.Size != size {
		t.Fatalf("get: read %d of %d bytes (info says %d): %v", n, size, info.Size, err)
	}
	if got := h.Sum(nil); string(got) != string(wantSum) {
		t.Errorf("get: sha256 %x, put %x", got, wantSum)
	}
	if p := peak(); p > MaxLargeObjectHeap {
		t.Errorf("heap in use peaked at %.1f MiB streaming %d MiB; the bound is %d MiB", mib(p), size>>20, MaxLargeObjectHeap>>20)
	} else {
		t.Logf("heap in use peaked at %.1f MiB streaming %d MiB", mib(p), size>>20)
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// sampleHeap samples the heap in use (runtime.MemStats.HeapInuse, read
// through runtime/metrics, which does not stop the world) every
// millisecond until the test ends, and returns a function that stops the
// sampling and reports the peak.
func sampleHeap(t *testing.T) (peak func() uint64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	read := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() + samples[1].Value.Uint64()
	}
	stop := make(chan struct{})
	result := make(chan uint64)
	go func() {
		hi := read()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				hi = max(hi, read())
			case <-stop:
				result <- max(hi, read())
				return
			}
		}
	}()
	var p uint64
	done := false
	peak = func() uint64 {
		if !done {
			done = true
			close(stop)
			p = <-result
		}
		return p
	}
	t.Cleanup(func() { peak() })
	return peak
}

// BenchmarkPutGet measures putting a small object of known size and reading
// it back whole, at 1 KiB and 64 KiB.
func BenchmarkPutGet(b *testing.B, factory Factory) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			be := factory(b).Open(b)
			ctx := b.Context()
			data := make([]byte, size)
			const keys = 64
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := fmt.Sprintf("bench/%02d", i%keys)
				i++
				if _, err := be.Put(ctx, key, bytes.NewReader(data), int64(size), core.PutOptions{}); err != nil {
					b.Fatal(err)
				}
				rc, _, err := be.Get(ctx, key, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
			b.StopTimer()
			for k := range min(i, keys) {
				if err := be.Delete(ctx, fmt.Sprintf("bench/%02d", k)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
