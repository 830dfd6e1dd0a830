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

// OpenStore creates dir (0700) if needed and opens the store in it. now may be nil.
func OpenStore(dir string, now func() time.Time) (*store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return store.Open(filepath.Join(dir, StoreFile), &store.Options{Now: now, ChunkSize: store.MaxChunkSize})
}
