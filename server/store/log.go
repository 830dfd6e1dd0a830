package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// The case log is an RFC 6962 Merkle tree kept as in golang.org/x/mod/sumdb/tlog:
// bucket log maps index → entry bytes (its sequence is the tree size) and
// bucket loghash maps tlog stored-hash index → hash. Entry bytes are opaque
// here (package internal/logentry defines them); a leaf is tlog.RecordHash(entry).

// appendLog appends entries inside tx and returns their indices.
func appendLog(tx *bolt.Tx, entries [][]byte) ([]int64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	lb, hb := tx.Bucket(bucketLog), tx.Bucket(bucketLogHash)
	n := int64(lb.Sequence())
	idx := make([]int64, 0, len(entries))
	for _, e := range entries {
		if len(e) == 0 || len(e) > MaxLogEntrySize {
			return nil, fmt.Errorf("store: log entry of %d bytes (want 1..%d): %w", len(e), MaxLogEntrySize, ErrInvalid)
		}
		hashes, err := tlog.StoredHashes(n, e, hashReader(hb))
		if err != nil {
			return nil, fmt.Errorf("store: appending to log: %w", err)
		}
		base := tlog.StoredHashIndex(0, n)
		for i, h := range hashes {
			if err := hb.Put(u64(uint64(base+int64(i))), h[:]); err != nil {
				return nil, err
			}
		}
		if err := lb.Put(u64(uint64(n)), clone(e)); err != nil {
			return nil, err
		}
		idx, n = append(idx, n), n+1
	}
	return idx, lb.SetSequence(uint64(n))
}

// hashReader reads stored hashes from bucket b (inside its transaction).
func hashReader(b *bolt.Bucket) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			v := b.Get(u64(uint64(x)))
			if len(v) != tlog.HashSize {
				return nil, fmt.Errorf("%w: log hash missing", ErrCorrupt)
			}
			copy(out[i][:], v)
		}
		return out, nil
	})
}

// logView runs fn with the log's size and hash reader in a read transaction.
func (s *Store) logView(fn func(size int64, r tlog.HashReader) error) error {
	return s.view(func(tx *bolt.Tx) error {
		return fn(int64(tx.Bucket(bucketLog).Sequence()), hashReader(tx.Bucket(bucketLogHash)))
	})
}

// AppendLog appends entries that belong to no case (reviewer added, key
// rotated, …) in one transaction and returns their indices. Case operations
// append their own entries atomically.
func (s *Store) AppendLog(entries [][]byte) ([]int64, error) {
	var idx []int64
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		idx, err = appendLog(tx, entries)
		return err
	})
	return idx, err
}

// LogSize returns the number of log entries.
func (s *Store) LogSize() (int64, error) {
	var n int64
	err := s.logView(func(size int64, _ tlog.HashReader) error { n = size; return nil })
	return n, err
}

// LogHead returns the size and root hash of the current tree, read together:
// what a checkpoint signs.
func (s *Store) LogHead() (int64, tlog.Hash, error) {
	var n int64
	var h tlog.Hash
	err := s.logView(func(size int64, r tlog.HashReader) error {
		var err error
		n = size
		h, err = tlog.TreeHash(size, r)
		return err
	})
	return n, h, err
}

// LogEntry returns the entry at index i.
func (s *Store) LogEntry(i int64) ([]byte, error) {
	var e []byte
	err := s.view(func(tx *bolt.Tx) error {
		if i < 0 {
			return fmt.Errorf("store: log entry: %w", ErrNotFound)
		}
		v := tx.Bucket(bucketLog).Get(u64(uint64(i)))
		if v == nil {
			return fmt.Errorf("store: log entry: %w", ErrNotFound)
		}
		e = clone(v)
		return nil
	})
	return e, err
}

// TreeHash returns the root hash of the tree of the first n entries.
func (s *Store) TreeHash(n int64) (tlog.Hash, error) {
	var h tlog.Hash
	err := s.logView(func(size int64, r tlog.HashReader) error {
		if n < 0 || n > size {
			return fmt.Errorf("store: tree size %d beyond log size %d: %w", n, size, ErrInvalid)
		}
		var err error
		h, err = tlog.TreeHash(n, r)
		return err
	})
	return h, err
}

// ProveRecord returns the proof that the tree of size t contains the entry
// with index n (0 <= n < t <= LogSize), for tlog.CheckRecord. The argument
// order is tlog's.
func (s *Store) ProveRecord(t, n int64) (tlog.RecordProof, error) {
	var p tlog.RecordProof
	err := s.logView(func(size int64, r tlog.HashReader) error {
		if n < 0 || n >= t || t > size {
			return fmt.Errorf("store: record proof for %d in %d of %d: %w", n, t, size, ErrInvalid)
		}
		var err error
		p, err = tlog.ProveRecord(t, n, r)
		return err
	})
	return p, err
}

// ProveTree returns the proof that the tree of size t contains the tree of
// size n as a prefix (0 < n <= t <= LogSize), for tlog.CheckTree. The
// argument order is tlog's.
func (s *Store) ProveTree(t, n int64) (tlog.TreeProof, error) {
	var p tlog.TreeProof
	err := s.logView(func(size int64, r tlog.HashReader) error {
		if n < 1 || n > t || t > size {
			return fmt.Errorf("store: tree proof for %d in %d of %d: %w", n, t, size, ErrInvalid)
		}
		var err error
		p, err = tlog.ProveTree(t, n, r)
		return err
	})
	return p, err
}
