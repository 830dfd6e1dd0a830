package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// copyTxSize bounds the bytes copied per destination transaction (tests lower it).
const copyTxSize = 64 << 20

// Compact rewrites the store file so that it holds only live data: the pages
// freed by deletions — which bbolt reuses but never wipes, so they may still
// hold the age header of a deleted blob — are gone from the file. It copies
// everything into a temporary file in the same directory, fsyncs it, renames it
// over the store file and continues with the new file; other calls wait
// meanwhile. If ctx is cancelled or anything fails, the store is unchanged.
//
// Compact cannot reach below the file system: blocks of the old file may
// survive on the disk until overwritten (use an encrypted volume).
func (s *Store) Compact(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	dst, tmp, err := s.snapshot(ctx, false)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("store: compacting: %w", err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		dst.Close()
		return err
	}
	// dst keeps its lock on the renamed file, so no other process can slip in
	// between closing the old file and using the new one.
	old := s.db
	s.db = dst
	if err := old.Close(); err != nil {
		return fmt.Errorf("store: compacting: closing old file: %w", err)
	}
	return nil
}

// snapshot copies the store, as of one read transaction, into a new bbolt
// file next to it, and returns the open copy and its path. nosync skips the
// fsyncs for a throw-away copy. On error nothing is left behind.
func (s *Store) snapshot(ctx context.Context, nosync bool) (*bolt.DB, string, error) {
	f, err := os.CreateTemp(filepath.Dir(s.path), tempPattern(s.path))
	if err != nil {
		return nil, "", fmt.Errorf("store: compacting: %w", err)
	}
	tmp := f.Name()
	f.Close()
	// The copy may become the live file (Compact): same options as openBolt.
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: nosync, NoFreelistSync: true,
		FreelistType: bolt.FreelistMapType, InitialMmapSize: initialMmapSize})
	if err == nil {
		err = s.db.View(func(tx *bolt.Tx) error { return copyTx(ctx, dst, tx, s.copyTx) })
		if err == nil && !nosync {
			err = dst.Sync()
		}
		if err != nil {
			dst.Close()
		}
	}
	if err != nil {
		os.Remove(tmp)
		return nil, "", fmt.Errorf("store: compacting: %w", err)
	}
	return dst, tmp, nil
}

// copyTx copies every bucket of src (the store's buckets are flat) into dst.
func copyTx(ctx context.Context, dst *bolt.DB, src *bolt.Tx, txSize int) error {
	return src.ForEach(func(name []byte, b *bolt.Bucket) error {
		return copyBucket(ctx, dst, name, b, txSize)
	})
}

// copyBucket copies bucket b into a new bucket of dst, committing about every
// txSize bytes and checking ctx in between.
func copyBucket(ctx context.Context, dst *bolt.DB, name []byte, b *bolt.Bucket, txSize int) error {
	c := b.Cursor()
	k, v := c.First()
	for first := true; first || k != nil; first = false {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := dst.Update(func(tx *bolt.Tx) error {
			db, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			db.FillPercent = 1.0 // keys arrive in order
			if err := db.SetSequence(b.Sequence()); err != nil {
				return err
			}
			for size := 0; k != nil && size < txSize; k, v = c.Next() {
				if v == nil {
					return fmt.Errorf("unexpected nested bucket in %s", name)
				}
				if err := db.Put(k, v); err != nil {
					return err
				}
				size += len(k) + len(v)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Backup writes a consistent, compacted copy of the store (a bbolt file) to w
// while other calls continue, and returns the bytes written. Like Compact, it
// never copies freed pages, so no deleted header reaches a backup. The copy is
// staged in a temporary file next to the store (ciphertext and metadata only,
// like the store itself) and removed before Backup returns; a slow w holds
// nothing in the store. Taking the copy delays writers that need to grow the
// file, and a Compact, until it is done.
func (s *Store) Backup(w io.Writer) (int64, error) {
	dst, tmp, err := s.backupSnapshot()
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	var n int64
	err = dst.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

func (s *Store) backupSnapshot() (*bolt.DB, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, "", ErrClosed
	}
	return s.snapshot(context.Background(), true)
}

// tempPattern names the temporary files of Compact and Backup (for os.CreateTemp).
func tempPattern(path string) string { return filepath.Base(path) + ".compact-*" }

// removeStale removes temporary files left by a Compact or Backup that was
// killed: they may hold headers that have since been deleted. The caller
// holds the file lock, so no other process is using them.
func removeStale(path string) error {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+".compact-"
	entries, err := os.ReadDir(dir)
	for _, e := range entries {
		if err == nil && strings.HasPrefix(e.Name(), prefix) {
			err = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if err != nil {
		return fmt.Errorf("store: removing stale temporary files: %w", err)
	}
	return nil
}
