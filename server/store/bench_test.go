package store

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkWrite256MiB streams 256 MiB of random (ciphertext-like) data
// through a BlobWriter with the default 1 MiB chunks, one durable commit per
// chunk, and with the server's settings, in 32 KiB writes as an HTTP upload
// would arrive. It reports the
// store's MiB/s, its peak heap above the starting point, and the same data
// written with plain bbolt, one 1 MiB value per transaction, as the in-run
// baseline (ratio = store / baseline). Run with -benchtime=1x.
func BenchmarkWrite256MiB(b *testing.B) {
	b.Run("commit=1", func(b *testing.B) { benchWrite(b, nil) })
	// The server's settings before the committer pipeline: 1 MiB chunks, 8 per commit.
	b.Run("commit=8", func(b *testing.B) { benchWrite(b, &Options{CommitChunks: 8}) })
	// The server's settings (server.OpenStore): 256 KiB chunks, 32 per commit.
	b.Run("chunk=256KiB/commit=32", func(b *testing.B) {
		benchWrite(b, &Options{ChunkSize: 256 << 10, CommitChunks: 32})
	})
}

func benchWrite(b *testing.B, opts *Options) {
	const total, piece = 256 << 20, 32 << 10
	pool := payload(1, 16<<20) // cycled through: generating data is not what we measure
	var storeTime, rawTime time.Duration
	var peakLive, peakAll uint64
	for range b.N {
		// Store, baseline, baseline, store: drift of the disk during the run
		// affects both sides alike.
		for _, order := range []bool{true, false, false, true} {
			dir := b.TempDir()
			if order {
				d, live, all := writeStore(b, filepath.Join(dir, "store.db"), opts, pool, total, piece)
				storeTime, peakLive, peakAll = storeTime+d, max(peakLive, live), max(peakAll, all)
			} else {
				rawTime += writeRaw(b, filepath.Join(dir, "raw.db"), pool, total)
			}
			os.RemoveAll(dir)
		}
	}
	storeTime, rawTime = storeTime/2, rawTime/2
	mib := float64(total>>20) * float64(b.N)
	b.ReportMetric(mib/storeTime.Seconds(), "MiB/s")
	b.ReportMetric(mib/rawTime.Seconds(), "baseline-MiB/s")
	b.ReportMetric(rawTime.Seconds()/storeTime.Seconds(), "ratio")
	b.ReportMetric(float64(peakLive)/(1<<20), "live-heap-MiB")
	b.ReportMetric(float64(peakAll)/(1<<20), "heap-MiB")
	b.ReportMetric(0, "ns/op") // one op is seconds of I/O; the metrics above say more
}

// writeStore writes total bytes through a BlobWriter and returns the time and
// the peak growth, sampled after every write, of the live heap (as of the last
// GC) and of all heap objects (garbage not yet collected included).
func writeStore(b *testing.B, path string, opts *Options, pool []byte, total, piece int) (d time.Duration, live, all uint64) {
	s, err := Open(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	_ = s.SetLogOrigin(testOrigin) // refused (and kept) once the log has entries
	defer s.Close()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	growth := func(base []uint64) (g []uint64) {
		metrics.Read(sample)
		for i, s := range sample {
			g = append(g, s.Value.Uint64()-min(s.Value.Uint64(), base[i]))
		}
		return g
	}
	runtime.GC()
	base := growth([]uint64{0, 0})
	start := time.Now()
	w, err := s.NewBlob()
	if err != nil {
		b.Fatal(err)
	}
	for off := 0; off < total; off += piece {
		o := off % len(pool)
		if _, err := w.Write(pool[o : o+piece]); err != nil {
			b.Fatal(err)
		}
		g := growth(base)
		live, all = max(live, g[0]), max(all, g[1])
	}
	w.SetHeader(pool[:200])
	if _, err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), live, all
}

// writeRaw writes total bytes with plain bbolt, one 1 MiB value per transaction.
func writeRaw(b *testing.B, path string, pool []byte, total int) time.Duration {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	for i := 0; i < total>>20; i++ {
		o := (i << 20) % len(pool)
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("raw"))
			if err != nil {
				return err
			}
			return bk.Put(u64(uint64(i)), pool[o:o+1<<20])
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}
