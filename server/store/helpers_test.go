package store

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
)

const testChunk = 1024

var testDay = day.FromTime(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))

// openTest opens a store in a fresh directory with small chunks and a fixed clock.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "candor.db"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetLogOrigin(testOrigin); err != nil {
		t.Fatal(err)
	}
	return s
}

// testOrigin names the test logs.
const testOrigin = "candor.invalid/store-test/epoch-1"

func testOptions() *Options {
	return &Options{ChunkSize: testChunk, Now: func() time.Time { return testDay.Time() }}
}

// payload returns n deterministic pseudo-random bytes: ciphertext-like data.
func payload(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// writeBlob writes and closes a pending blob, in pieces of step bytes.
func writeBlob(t testing.TB, s *Store, header, data []byte, step int) BlobID {
	t.Helper()
	w, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetHeader(header); err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; {
		k := min(step, len(p))
		n, err := w.Write(p[:k])
		if err != nil || n != k {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, k)
		}
		p = p[k:]
	}
	id, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newCase returns a case with one report message per blob.
func newCase(lookupSeed byte, blobs ...BlobID) *Case {
	c := &Case{Category: "default", Received: testDay, Status: "received",
		Reviewers: []string{"aaaa-bbbb", "cccc-dddd"}, ReporterRecipient: "age1pq1example",
		Lookup: [32]byte{lookupSeed, 1, 2, 3}}
	for i, b := range blobs {
		kind := KindReport
		if i > 0 {
			kind = KindFollowup
		}
		c.Messages = append(c.Messages, Message{Blob: b, Kind: kind, Author: AuthorReporter, Day: testDay})
	}
	return c
}

// createCase stores a case holding one blob with the given header and data.
func createCase(t testing.TB, s *Store, lookupSeed byte, header, data []byte) *Case {
	t.Helper()
	id := writeBlob(t, s, header, data, 777)
	c := newCase(lookupSeed, id)
	if _, err := s.CreateCase(c, []BlobID{id}, [][]byte{[]byte("created")}); err != nil {
		t.Fatal(err)
	}
	return c
}

// readBlob returns a committed blob's header and payload.
func readBlob(t testing.TB, s *Store, id BlobID) (header, data []byte) {
	t.Helper()
	b, err := s.OpenBlob(id)
	if err != nil {
		t.Fatal(err)
	}
	data, err = io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != b.Size {
		t.Errorf("read %d bytes, Size = %d", len(data), b.Size)
	}
	return b.Header, data
}

// keyCounts counts the keys of every bucket.
func keyCounts(t testing.TB, s *Store) map[string]int {
	t.Helper()
	n := map[string]int{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			n[string(name)] = b.Stats().KeyN
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkInvariants fails t unless the store is consistent: every chunk and
// header belongs to a pending blob or to a case's message, every message's
// blob is committed with its header, and the lookup index matches the cases.
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		owned := map[BlobID]bool{}
		lookups := 0
		err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			c, err := decodeCase(k, v)
			if err != nil {
				return err
			}
			lookups++
			if id := tx.Bucket(bucketLookup).Get(c.Lookup[:]); !bytes.Equal(id, c.ID[:]) {
				t.Errorf("case %s: lookup index points elsewhere", c.ID)
			}
			for _, m := range c.Messages {
				owned[m.Blob] = true
				if tx.Bucket(bucketHeaders).Get(m.Blob[:]) == nil || tx.Bucket(bucketPending).Get(m.Blob[:]) != nil {
					t.Errorf("case %s: blob %s not committed", c.ID, m.Blob)
				}
			}
			return nil
		})
		if n := tx.Bucket(bucketLookup).Stats().KeyN; n != lookups {
			t.Errorf("lookup index has %d keys for %d cases", n, lookups)
		}
		belongs := func(id []byte) bool {
			return owned[BlobID(id)] || tx.Bucket(bucketPending).Get(id) != nil
		}
		tx.Bucket(bucketHeaders).ForEach(func(k, _ []byte) error {
			if !belongs(k) {
				t.Errorf("orphan header %x", k)
			}
			return nil
		})
		tx.Bucket(bucketChunks).ForEach(func(k, _ []byte) error {
			if !belongs(k[:16]) {
				t.Errorf("orphan chunk %x", k)
			}
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustIs(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}
