package server

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"candor/server/store"
)

// Layout of a data directory (candor --data DIR).
const (
	StoreFile = "candor.db" // the bbolt store
	TorDir    = "tor"       // tor's own data directory (onion.Config.DataDir)
)

// Store settings for uploads: 1 MiB chunks, committed durably 8 at a time. One commit per chunk
// (the store's default) spent most of an upload's time in fsync and in bbolt rewriting leaf pages
// of earlier chunks; 8 MiB per commit doubles the store's throughput for 8 MiB of memory per
// upload in flight (docs/performance.md).
const (
	storeChunkSize    = 1 << 20
	storeCommitChunks = 8
)

// OpenStore creates dir (0700) if needed and opens the store in it. now may be nil.
func OpenStore(dir string, now func() time.Time) (*store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return store.Open(filepath.Join(dir, StoreFile), &store.Options{Now: now, ChunkSize: storeChunkSize,
		CommitChunks: storeCommitChunks})
}
