package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Feed item kinds.
const (
	FeedCase    = "case"    // a new case, with all its messages
	FeedMessage = "message" // a message added to a case (Blob is set)
	FeedUpdate  = "update"  // a case's metadata changed (status, holds, …)
	FeedDelete  = "delete"  // a case was deleted
)

// FeedItem is one entry of the feed: the global, ordered list of case events
// that reviewers pull (a reviewer's cursor is the Seq of the last item it
// acknowledged). Items hold IDs only, never content. Seq starts at 1.
type FeedItem struct {
	Seq  uint64 `json:"-"` // the key
	Case CaseID `json:"case"`
	Blob BlobID `json:"blob"` // zero unless Kind is FeedMessage
	Kind string `json:"kind"`
}

// appendFeed appends item with the next sequence number.
func appendFeed(tx *bolt.Tx, item FeedItem) error {
	b := tx.Bucket(bucketFeed)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return b.Put(u64(seq), encodeRecord(item))
}

// feedBatch is how many items Feed reads per transaction.
const feedBatch = 1024

// Feed calls fn for every feed item with Seq > after, in order, stopping at
// fn's first error, which it returns. fn runs outside any transaction and may
// call the Store; items appended meanwhile are seen as well.
func (s *Store) Feed(after uint64, fn func(FeedItem) error) error {
	for {
		var batch []FeedItem
		err := s.view(func(tx *bolt.Tx) error {
			var err error
			batch, err = readFeed(tx, after)
			return err
		})
		if err != nil {
			return err
		}
		for _, it := range batch {
			if err := fn(it); err != nil {
				return err
			}
			after = it.Seq
		}
		if len(batch) < feedBatch {
			return nil
		}
	}
}

// readFeed decodes up to feedBatch items with Seq > after.
func readFeed(tx *bolt.Tx, after uint64) ([]FeedItem, error) {
	var out []FeedItem
	c := tx.Bucket(bucketFeed).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < feedBatch; k, v = c.Next() {
		var it FeedItem
		if len(k) != 8 {
			return nil, fmt.Errorf("%w: feed key", ErrCorrupt)
		}
		if err := decodeRecord(v, &it); err != nil {
			return nil, err
		}
		it.Seq = binary.BigEndian.Uint64(k)
		out = append(out, it)
	}
	return out, nil
}

// FeedHead returns the Seq of the last feed item (0 if none).
func (s *Store) FeedHead() (uint64, error) {
	var seq uint64
	err := s.view(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketFeed).Sequence()
		return nil
	})
	return seq, err
}
