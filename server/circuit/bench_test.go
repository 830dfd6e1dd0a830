package circuit

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkRequestPath compares, in one run, what a request pays for its limits: "today" is the global
// path without circuits (a mutex-guarded counter plus the upload semaphore, a buffered channel), and
// "circuit" adds the per-circuit bookkeeping (Allow and an upload slot, Acquire/release) for circuits
// drawn from 100,000 — the keeper's worst case, where every lookup misses the CPU caches. The ratio
// is ns/op of "circuit" over "today".
func BenchmarkRequestPath(b *testing.B) {
	b.Run("today", func(b *testing.B) {
		var mu sync.Mutex
		count := 0
		sem := make(chan struct{}, 8)
		for b.Loop() {
			mu.Lock()
			count++
			mu.Unlock()
			sem <- struct{}{}
			<-sem
		}
	})
	b.Run("circuit", func(b *testing.B) {
		c := newClock()
		k := New(Config{Now: c.now})
		sem := make(chan struct{}, 8)
		i := uint32(0)
		for b.Loop() {
			key := CircuitKey(i % 100_000 * 2654435761) // spread over the map
			i++
			k.Allow(key, FollowUp)
			release, _ := k.Acquire(key)
			sem <- struct{}{}
			<-sem
			release()
		}
	})
	b.Run("allow-only", func(b *testing.B) {
		c := newClock()
		k := New(Config{Now: c.now})
		i := uint32(0)
		for b.Loop() {
			k.Allow(CircuitKey(i%100_000*2654435761), FollowUp)
			i++
		}
	})
}

// BenchmarkMemory reports the heap a Keeper holds for 100,000 circuits: "burst" has them all within
// an hour (every one still remembered), "day" spreads them over 24 hours as a day's traffic would be
// (circuits idle for an hour are forgotten). Figures: B/circuit (burst) and remembered circuits / MiB.
func BenchmarkMemory(b *testing.B) {
	const n = 100_000
	for _, spread := range []struct {
		name string
		step time.Duration
	}{{"burst", 10 * time.Millisecond}, {"day", 24 * time.Hour / n}} {
		b.Run(spread.name, func(b *testing.B) {
			var held int
			var bytes uint64
			for b.Loop() {
				c := newClock()
				before := heap()
				k := New(Config{Now: c.now})
				for i := range uint32(n) {
					k.Allow(CircuitKey(i), Submit)
					c.advance(spread.step)
				}
				bytes = heap() - before
				held = k.Len()
				runtime.KeepAlive(k)
			}
			b.ReportMetric(float64(held), "circuits-held")
			b.ReportMetric(float64(bytes)/(1<<20), "MiB")
			b.ReportMetric(float64(bytes)/float64(max(held, 1)), "B/circuit-held")
		})
	}
}

// heap returns the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
