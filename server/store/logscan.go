package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ScanLog reads the whole case log in one read transaction, for an integrity check: it calls
// entry for every entry in index order, then hash for every stored tlog hash in stored-hash index
// order, and returns the log size (the log bucket's sequence). The slices passed to the callbacks
// are valid only during the call; the callbacks run inside the transaction and must not call the
// Store. The first callback error stops the scan and is returned. Keys that are not 8 bytes fail
// with ErrCorrupt.
func (s *Store) ScanLog(entry func(i int64, e []byte) error, hash func(i int64, h []byte) error) (int64, error) {
	var size int64
	err := s.view(func(tx *bolt.Tx) error {
		lb := tx.Bucket(bucketLog)
		size = int64(lb.Sequence())
		if err := scanU64(lb, entry); err != nil {
			return err
		}
		return scanU64(tx.Bucket(bucketLogHash), hash)
	})
	return size, err
}

func scanU64(b *bolt.Bucket, fn func(i int64, v []byte) error) error {
	return b.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("%w: log key", ErrCorrupt)
		}
		return fn(int64(binary.BigEndian.Uint64(k)), v)
	})
}
