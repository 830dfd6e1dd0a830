package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// copyTxSize bounds the bytes copied per destination transaction.
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
	f, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".compact-*")
	if err != nil {
		return nil, "", fmt.Errorf("store: compacting: %w", err)
	}
	tmp := f.Name()
	f.Close()
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: nosync, NoFreelistSync: nosync})
	if err == nil {
		err = s.db.View(func(tx *bolt.Tx) error { return copyTx(ctx, dst, tx) })
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

// copyTx copies every bucket of src (the store's buckets are flat) into dst,
// committing about every copyTxSize bytes and checking ctx in between.
func copyTx(ctx context.Context, dst *bolt.DB, src *bolt.Tx) error {
	return src.ForEach(func(name []byte, b *bolt.Bucket) error {
		c := b.Cursor()
		k, v := c.First()
		first := true
		for first || k != nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := dst.Update(func(tx *bolt.Tx) error {
				db, err := tx.CreateBucketIfNotExists(name)
				if err != nil {
					return err
				}
				db.FillPercent = 1.0 // keys are appended in order
				if err := db.SetSequence(b.Sequence()); err != nil {
					return err
				}
				for size := 0; k != nil && size < copyTxSize; k, v = c.Next() {
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
			first = false
		}
		return nil
	})
}

// Backup writes a consistent, compacted copy of the store (a bbolt file) to w
// while other calls continue, and returns the bytes written. Like Compact, it
// never copies freed pages, so no deleted header reaches a backup. The copy is
// staged in a temporary file next to the store (ciphertext and metadata only,
// like the store itself) and removed before Backup returns. A long backup
// delays writers that need to grow the file.
func (s *Store) Backup(w io.Writer) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return 0, ErrClosed
	}
	dst, tmp, err := s.snapshot(context.Background(), true)
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
