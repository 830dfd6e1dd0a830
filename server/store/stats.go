package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// Stats are content-free counts for `candor status`.
type Stats struct {
	Cases        int            // cases stored
	ByStatus     map[string]int // cases per Status
	Blobs        int            // committed blobs
	Bytes        int64          // committed ciphertext bytes (headers and chunks)
	Pending      int            // pending blobs (uploads in progress or abandoned)
	PendingBytes int64
	Reviewers    int
	LogSize      int64
	FeedHead     uint64
	FileSize     int64 // size of the store file, free pages included
}

// Stats counts the store's contents in one read transaction. It reads every
// case record and every chunk's length, so it is meant for status commands,
// not for every request.
func (s *Store) Stats() (Stats, error) {
	st := Stats{ByStatus: map[string]int{}}
	err := s.view(func(tx *bolt.Tx) error {
		st.FileSize = tx.Size()
		st.Reviewers = tx.Bucket(bucketReviewers).Stats().KeyN
		st.LogSize = int64(tx.Bucket(bucketLog).Sequence())
		st.FeedHead = tx.Bucket(bucketFeed).Sequence()
		st.Pending = tx.Bucket(bucketPending).Stats().KeyN
		if err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			c, err := decodeCase(k, v)
			if err == nil {
				st.Cases++
				st.ByStatus[c.Status]++
			}
			return err
		}); err != nil {
			return err
		}
		countBlobs(tx, &st)
		return nil
	})
	return st, err
}

// countBlobs adds up headers and chunks, split into committed and pending.
func countBlobs(tx *bolt.Tx, st *Stats) {
	pending := tx.Bucket(bucketPending)
	hc := tx.Bucket(bucketHeaders).Cursor()
	for k, v := hc.First(); k != nil; k, v = hc.Next() {
		if pending.Get(k) != nil {
			st.PendingBytes += int64(len(v))
		} else {
			st.Blobs, st.Bytes = st.Blobs+1, st.Bytes+int64(len(v))
		}
	}
	var last []byte
	var lastPending bool
	cc := tx.Bucket(bucketChunks).Cursor()
	for k, v := cc.First(); k != nil; k, v = cc.Next() {
		id := k[:min(len(k), len(BlobID{}))]
		if !bytes.Equal(id, last) { // chunks of a blob are adjacent: look each blob up once
			last, lastPending = id, pending.Get(id) != nil
		}
		if lastPending {
			st.PendingBytes += int64(len(v))
		} else {
			st.Bytes += int64(len(v))
		}
	}
}
