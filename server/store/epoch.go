package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"candor/internal/leaf"
)

// StartEpoch begins a new epoch of the case log, as a restore from a backup does (DESIGN §7.4):
// the log is rebuilt under origin, starting with record (the epoch record, a public leaf at index
// 0) followed by every leaf of the current log with its content and scope, re-tagged for the new
// origin and index for the reviewers its tags named (recognised with their addressing keys under
// the old origin). Every case's LogIndices move by one. All in one transaction.
func (s *Store) StartEpoch(origin string, record []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		old := string(meta.Get([]byte(metaLogOrigin)))
		if old == "" || origin == "" || origin == old {
			return fmt.Errorf("store: a new epoch needs a new origin: %w", ErrInvalid)
		}
		leaves, to, err := readForEpoch(tx, old)
		if err != nil {
			return err
		}
		for _, b := range [][]byte{bucketLog, bucketLogHash} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		if err := meta.Put([]byte(metaLogOrigin), []byte(origin)); err != nil {
			return err
		}
		if _, err := appendLog(tx, [][]byte{record}, nil); err != nil {
			return err
		}
		for i := range leaves {
			if _, err := appendLog(tx, [][]byte{leaves[i].Rest}, to[i]); err != nil {
				return err
			}
		}
		return shiftLogIndices(tx)
	})
}

// readForEpoch returns the leaves of the log named origin and, for each, the reviewers it is
// addressed to (nil for a public leaf, a non-nil list otherwise).
func readForEpoch(tx *bolt.Tx, origin string) ([]leaf.Leaf, [][]string, error) {
	type rk struct {
		fp  string
		key *leaf.AddressingKey
	}
	var keys []rk
	err := tx.Bucket(bucketReviewers).ForEach(func(k, v []byte) error {
		r, err := decodeReviewer(k, v)
		if err != nil || len(r.AddressingKey) == 0 {
			return err
		}
		key, err := leaf.NewAddressingKey(r.AddressingKey)
		if err != nil {
			return fmt.Errorf("store: reviewer %s: %w", r.Fingerprint, ErrCorrupt)
		}
		keys = append(keys, rk{r.Fingerprint, key})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	n := int64(tx.Bucket(bucketLog).Sequence())
	leaves := make([]leaf.Leaf, 0, n)
	to := make([][]string, 0, n)
	for i := range n {
		lf, err := getLeaf(tx, i)
		if err != nil {
			return nil, nil, err
		}
		var fps []string
		if lf.Scope == leaf.Addressed {
			fps = []string{}
			for _, k := range keys {
				if lf.AddressedTo(k.key.Tag(origin, i)) {
					fps = append(fps, k.fp)
				}
			}
		}
		leaves, to = append(leaves, *lf), append(to, fps)
	}
	return leaves, to, nil
}

// shiftLogIndices moves every case's log indices by one (the epoch record comes first).
func shiftLogIndices(tx *bolt.Tx) error {
	b := tx.Bucket(bucketCases)
	var cases []*Case
	err := b.ForEach(func(k, v []byte) error {
		c, err := decodeCase(k, v)
		if err == nil {
			cases = append(cases, c)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range cases {
		for i := range c.LogIndices {
			c.LogIndices[i]++
		}
		if err := b.Put(c.ID[:], encodeCase(c)); err != nil {
			return err
		}
	}
	return nil
}
