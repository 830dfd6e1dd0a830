package store

import (
	"errors"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestFeedPaging(t *testing.T) {
	s := openTest(t)
	const n = 2*feedBatch + 5 // several read batches
	err := s.update(func(tx *bolt.Tx) error {
		for i := range n {
			if err := appendFeed(tx, FeedItem{Case: CaseID{byte(i), byte(i >> 8)}, Kind: FeedUpdate}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []uint64{0, 1, feedBatch, n - 1, n, n + 10} {
		want := uint64(max(0, int(n)-int(after)))
		var got uint64
		err := s.Feed(after, func(it FeedItem) error {
			got++
			if it.Seq != after+got || it.Case != (CaseID{byte(it.Seq - 1), byte((it.Seq - 1) >> 8)}) {
				t.Fatalf("Feed(%d): item %d has Seq %d and case %v", after, got, it.Seq, it.Case)
			}
			return nil
		})
		if err != nil || got != want {
			t.Errorf("Feed(%d) gave %d items (err %v), want %d", after, got, err, want)
		}
	}
	stop := errors.New("stop")
	if err := s.Feed(0, func(FeedItem) error { return stop }); err != stop {
		t.Errorf("Feed with a failing fn = %v, want stop", err)
	}
	if head, err := s.FeedHead(); err != nil || head != n {
		t.Errorf("FeedHead = %d, %v; want %d", head, err, n)
	}
}

func TestStats(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("hdr"), payload(1, 2*testChunk+1))
	s.UpdateCase(c.ID, func(c *Case) error { c.Status = "closed"; return nil }, nil)
	createCase(t, s, 2, []byte("hdr"), payload(2, 10))
	writeBlob(t, s, []byte("pending"), payload(3, testChunk+5), 100)
	s.PutReviewer(&Reviewer{Fingerprint: "aaaa"}, [][]byte{[]byte("added")})
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Cases: 2, Blobs: 2, Bytes: 3 + 2*testChunk + 1 + 3 + 10, Pending: 1,
		PendingBytes: 7 + testChunk + 5, Reviewers: 1, LogSize: 3, FeedHead: 3}
	st.FileSize = 0
	if st.ByStatus["closed"] != 1 || st.ByStatus["received"] != 1 || len(st.ByStatus) != 2 {
		t.Errorf("ByStatus = %v", st.ByStatus)
	}
	st.ByStatus = nil
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}
