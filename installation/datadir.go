package installation

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

// Store settings for uploads: 256 KiB chunks, committed durably 32 at a time (8 MiB) by the
// BlobWriter's committer while the upload goes on sealing (store.DefaultInFlight batches in
// flight: 24 MiB of buffers per upload at most). bbolt rewrites the last leaf of the chunks
// bucket, two chunks, on every commit: with 256 KiB chunks that is 0.5 MiB per 8 MiB commit
// instead of 2 MiB with 1 MiB chunks (docs/performance.md).
const (
	storeChunkSize    = 256 << 10
	storeCommitChunks = 32
)

// OpenStore creates dir (0700) if needed and opens the store in it. now may be nil.
func OpenStore(dir string, now func() time.Time) (*store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return store.Open(filepath.Join(dir, StoreFile), &store.Options{Now: now, ChunkSize: storeChunkSize,
		CommitChunks: storeCommitChunks})
}
