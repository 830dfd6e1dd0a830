package store

import (
	"crypto/rand"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"candor/internal/leaf"
)

// The case log is an RFC 6962 Merkle tree kept as in golang.org/x/mod/sumdb/tlog:
// bucket log maps index → the stored leaf (leaf.Leaf.Marshal: its tags and its content, the
// entry bytes) and its sequence is the tree size; bucket loghash maps tlog stored-hash index →
// hash. Entry bytes are opaque here (package internal/logentry defines them). A leaf carries the
// tags of the reviewers it is addressed to, computed here from their addressing keys for the
// leaf's index under the log's origin (meta store.log-origin), padded to TagCount; its Merkle
// hash is tlog.RecordHash of its head (DESIGN §7.2).

// TagCount is the constant number of tags of every leaf.
const TagCount = leaf.DefaultTagCount

const metaLogOrigin = "store.log-origin"

// appendLog appends entries inside tx, addressed to the reviewers to (public if to is nil), and
// returns their indices.
func appendLog(tx *bolt.Tx, entries [][]byte, to []string) ([]int64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	origin := string(tx.Bucket(bucketMeta).Get([]byte(metaLogOrigin)))
	if origin == "" {
		return nil, fmt.Errorf("store: the log has no origin (SetLogOrigin): %w", ErrInvalid)
	}
	keys, err := addressingKeys(tx, to)
	if err != nil {
		return nil, err
	}
	scope := leaf.Addressed
	if to == nil {
		scope = leaf.Public
	}
	n := int64(tx.Bucket(bucketLog).Sequence())
	idx := make([]int64, 0, len(entries))
	for _, e := range entries {
		if len(e) == 0 || len(e) > MaxLogEntrySize || len(e) > leaf.MaxRestLen {
			return nil, fmt.Errorf("store: log entry of %d bytes (want 1..%d): %w", len(e), leaf.MaxRestLen, ErrInvalid)
		}
		tags := make([]leaf.Tag, len(keys))
		for i, k := range keys {
			tags[i] = k.Tag(origin, n)
		}
		lf, err := leaf.New(rand.Reader, e, scope, tags, TagCount)
		if err != nil {
			return nil, fmt.Errorf("store: %w: %w", ErrInvalid, err)
		}
		if err := putLeaf(tx, n, lf); err != nil {
			return nil, err
		}
		idx, n = append(idx, n), n+1
	}
	return idx, tx.Bucket(bucketLog).SetSequence(uint64(n))
}

// putLeaf stores lf at index n (the log's size) with its tree hashes.
func putLeaf(tx *bolt.Tx, n int64, lf *leaf.Leaf) error {
	lb, hb := tx.Bucket(bucketLog), tx.Bucket(bucketLogHash)
	b, err := lf.Marshal()
	if err != nil {
		return fmt.Errorf("store: %w: %w", ErrInvalid, err)
	}
	hashes, err := tlog.StoredHashes(n, lf.Head(), hashReader(hb))
	if err != nil {
		return fmt.Errorf("store: appending to log: %w", err)
	}
	base := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		if err := hb.Put(u64(uint64(base+int64(i))), h[:]); err != nil {
			return err
		}
	}
	return lb.Put(u64(uint64(n)), b)
}

// addressingKeys returns the addressing keys of the reviewers fps (skipping removed reviewers
// and reviewers without a key).
func addressingKeys(tx *bolt.Tx, fps []string) ([]*leaf.AddressingKey, error) {
	var keys []*leaf.AddressingKey
	for _, fp := range fps {
		r, err := getReviewer(tx, fp)
		if err != nil || len(r.AddressingKey) == 0 {
			continue
		}
		k, err := leaf.NewAddressingKey(r.AddressingKey)
		if err != nil {
			return nil, fmt.Errorf("store: reviewer %s: %w", fp, ErrCorrupt)
		}
		keys = append(keys, k)
	}
	if len(keys) > TagCount {
		return nil, fmt.Errorf("store: %d recipients, a leaf has %d tags: %w", len(keys), TagCount, ErrInvalid)
	}
	return keys, nil
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
// rotated, …) in one transaction and returns their indices; they are public
// leaves, sent to every reviewer. Case operations append their own entries
// atomically, addressed to the case's reviewers.
func (s *Store) AppendLog(entries [][]byte) ([]int64, error) {
	var idx []int64
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		idx, err = appendLog(tx, entries, nil)
		return err
	})
	return idx, err
}

// SetLogOrigin names the log (its checkpoint origin, which the leaves' tags depend on). It may be
// set only while the log is empty (ErrImmutable otherwise): a new origin is a new epoch
// (StartEpoch).
func (s *Store) SetLogOrigin(origin string) error {
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketLog).Sequence() != 0 {
			return ErrImmutable
		}
		return tx.Bucket(bucketMeta).Put([]byte(metaLogOrigin), []byte(origin))
	})
}

// LogOrigin returns the log's origin ("" if none is set).
func (s *Store) LogOrigin() (string, error) {
	var o string
	err := s.view(func(tx *bolt.Tx) error {
		o = string(tx.Bucket(bucketMeta).Get([]byte(metaLogOrigin)))
		return nil
	})
	return o, err
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

// LogEntry returns the entry (the leaf's content) at index i.
func (s *Store) LogEntry(i int64) ([]byte, error) {
	lf, err := s.LogLeaf(i)
	if err != nil {
		return nil, err
	}
	return lf.Rest, nil
}

// LogLeaf returns the leaf at index i.
func (s *Store) LogLeaf(i int64) (*leaf.Leaf, error) {
	var lf *leaf.Leaf
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		lf, err = getLeaf(tx, i)
		return err
	})
	return lf, err
}

func getLeaf(tx *bolt.Tx, i int64) (*leaf.Leaf, error) {
	if i < 0 {
		return nil, fmt.Errorf("store: log entry: %w", ErrNotFound)
	}
	v := tx.Bucket(bucketLog).Get(u64(uint64(i)))
	if v == nil {
		return nil, fmt.Errorf("store: log entry: %w", ErrNotFound)
	}
	// leaf.Parse keeps slices of its input, and v lives in bbolt's read-only map only until tx
	// ends: parse a copy.
	lf, err := leaf.Parse(clone(v))
	if err != nil {
		return nil, fmt.Errorf("store: log entry %d: %w: %w", i, ErrCorrupt, err)
	}
	return lf, nil
}

// LogLeaves returns the leaves from index from to the tree of size to, with the frontier of the
// tree of size from (leaf.Frontier), read in one transaction: what a reviewer's leaf list needs.
func (s *Store) LogLeaves(from, to int64) ([]leaf.Leaf, []tlog.Hash, error) {
	var out []leaf.Leaf
	var frontier []tlog.Hash
	err := s.logView(func(size int64, r tlog.HashReader) error {
		if from < 0 || from > to || to > size {
			return fmt.Errorf("store: leaves %d..%d of %d: %w", from, to, size, ErrInvalid)
		}
		var err error
		if frontier, err = leaf.Frontier(from, r); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = s.view(func(tx *bolt.Tx) error {
		out = make([]leaf.Leaf, 0, to-from)
		for i := from; i < to; i++ {
			lf, err := getLeaf(tx, i)
			if err != nil {
				return err
			}
			out = append(out, *lf)
		}
		return nil
	})
	return out, frontier, err
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
