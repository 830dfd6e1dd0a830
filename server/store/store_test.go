package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestLockTimeout(t *testing.T) {
	s := openTest(t)
	_, err := Open(s.Path(), &Options{LockTimeout: 100 * time.Millisecond})
	mustIs(t, err, ErrLocked)
	if !strings.Contains(err.Error(), "store is in use by another process") {
		t.Errorf("error %q does not say the store is in use", err)
	}
	s.Close()
	s2, err := Open(s.Path(), &Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestOpenOptions(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{-1, MaxChunkSize + 1} {
		_, err := Open(filepath.Join(dir, "x.db"), &Options{ChunkSize: size})
		mustIs(t, err, ErrInvalid)
	}
	_, err := Open(filepath.Join(dir, "missing", "x.db"), nil)
	if err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

// rawUpdate changes a closed store file with plain bbolt.
func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaMismatch(t *testing.T) {
	s := openTest(t)
	s.Close()
	rawUpdate(t, s.Path(), func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(schemaKey), []byte("99"))
	})
	_, err := Open(s.Path(), nil)
	mustIs(t, err, ErrSchema)
}

func TestCorruptRecords(t *testing.T) {
	good := encodeRecord(caseRecord{ID: CaseID{1}, Lookup: make([]byte, 32)})
	frame := func(version byte, js string) []byte { // a valid checksum around bad content
		b := append([]byte{version}, js...)
		return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	}
	tests := []struct {
		name string
		key  []byte
		v    []byte
	}{
		{"flipped bit", CaseID{1}.bytes(), flip(good, 5)},
		{"flipped checksum", CaseID{1}.bytes(), flip(good, len(good)-1)},
		{"truncated", CaseID{1}.bytes(), good[:len(good)-3]},
		{"empty", CaseID{1}.bytes(), nil},
		{"unknown version", CaseID{1}.bytes(), frame(2, `{"id":"01000000000000000000000000000000"}`)},
		{"not JSON", CaseID{1}.bytes(), frame(1, `{"id":`)},
		{"unknown field", CaseID{1}.bytes(), frame(1, `{"secret":"x"}`)},
		{"trailing data", CaseID{1}.bytes(), frame(1, `{} {}`)},
		{"wrong key", CaseID{2}.bytes(), good},
		{"short lookup", CaseID{1}.bytes(), frame(1, `{"id":"01000000000000000000000000000000","lookup":"AAAA"}`)},
		{"bad ID", CaseID{1}.bytes(), frame(1, `{"id":"zz"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeCase(tt.key, tt.v)
			mustIs(t, err, ErrCorrupt)
		})
	}
	if _, err := decodeCase(CaseID{1}.bytes(), good); err != nil {
		t.Errorf("decoding the uncorrupted record: %v", err)
	}
}

func (id CaseID) bytes() []byte { return id[:] }

func flip(b []byte, i int) []byte {
	b = slices.Clone(b)
	b[i] ^= 0x10
	return b
}

func TestCorruptRecordInFile(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("h"), []byte("p"))
	s.PutReviewer(&Reviewer{Fingerprint: "aaaa-bbbb", Card: []byte("card")}, nil)
	s.Close()
	rawUpdate(t, s.Path(), func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketCases, bucketReviewers, bucketFeed} {
			b := tx.Bucket(name)
			k, v := b.Cursor().First()
			v = bytes.Replace(v, []byte(`"`), []byte(`'`), 1) // one byte changed by hand
			if err := b.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	s, err := Open(s.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	errs := map[string]error{}
	_, errs["Case"] = s.Case(c.ID)
	_, errs["CaseByLookup"] = s.CaseByLookup(c.Lookup)
	errs["Cases"] = s.Cases(func(*Case) error { return nil })
	_, errs["Stats"] = s.Stats()
	_, errs["Reviewer"] = s.Reviewer("aaaa-bbbb")
	_, errs["Reviewers"] = s.Reviewers()
	errs["Feed"] = s.Feed(0, func(FeedItem) error { return nil })
	_, errs["UpdateCase"] = s.UpdateCase(c.ID, func(*Case) error { return nil }, nil)
	for name, err := range errs {
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

// TestErrorsCarryNoIdentifiers: errors reach logs, which must not correlate
// with a case (DESIGN §2), so they never name a case, blob, lookup key or
// token hash.
func TestErrorsCarryNoIdentifiers(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("h"), []byte("p"))
	blob := c.Messages[0].Blob
	token := [32]byte{0xab, 0xcd, 0xef, 0x12}
	var errs []error
	add := func(_ any, err error) { errs = append(errs, err) }
	add(s.CreateCase(newCase(1, blob), []BlobID{blob}, nil))
	dup := newCase(2, blob)
	dup.ID = c.ID
	add(s.CreateCase(dup, []BlobID{blob}, nil))
	add(s.Case(CaseID{0xfe, 0xdc, 0xba}))
	add(s.CaseByLookup([32]byte{0xfe, 0xdc, 0xba}))
	add(s.OpenBlob(blob.next()))
	add(s.ReviewerByTokenHash(token))
	add(s.AddMessage(c.ID, Message{Blob: blob}, nil))
	add(ParseCaseID(c.ID.String()[:30] + "zz"))
	add(s.UpdateCase(c.ID, func(c *Case) error { c.Lookup[0]++; return nil }, nil))
	forbidden := []string{c.ID.String(), blob.String(), blob.next().String(), hex.EncodeToString(c.Lookup[:4]),
		hex.EncodeToString(token[:4]), "fedcba", c.ID.String()[:12]}
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		for _, f := range forbidden {
			if strings.Contains(strings.ToLower(err.Error()), f) {
				t.Errorf("error %q contains identifier %s", err, f)
			}
		}
	}
}

func (id BlobID) next() BlobID { id[15]++; return id }

func TestReviewers(t *testing.T) {
	s := openTest(t)
	r := &Reviewer{Fingerprint: "aaaa-bbbb", Card: []byte("card"), TokenHash: [32]byte{1},
		ClientAuthPub: "x25519pub", Added: testDay}
	if idx, err := s.PutReviewer(r, [][]byte{[]byte("reviewer added")}); err != nil || !slices.Equal(idx, []int64{0}) {
		t.Fatalf("PutReviewer = %v, %v", idx, err)
	}
	s.PutReviewer(&Reviewer{Fingerprint: "cccc-dddd", TokenHash: [32]byte{2}}, nil)
	got, err := s.Reviewer("aaaa-bbbb")
	if err != nil || !equalReviewer(got, r) {
		t.Fatalf("Reviewer = %+v, %v; want %+v", got, err, r)
	}
	got.Card[0] = 'X'
	if again, _ := s.Reviewer("aaaa-bbbb"); string(again.Card) != "card" {
		t.Error("mutating a returned reviewer changed the store")
	}
	if got, err := s.ReviewerByTokenHash([32]byte{2}); err != nil || got.Fingerprint != "cccc-dddd" {
		t.Errorf("ReviewerByTokenHash = %v, %v", got, err)
	}
	_, err = s.ReviewerByTokenHash([32]byte{3})
	mustIs(t, err, ErrNotFound)
	s.PutReviewer(&Reviewer{Fingerprint: "eeee-ffff"}, nil) // no token issued
	_, err = s.ReviewerByTokenHash([32]byte{})
	mustIs(t, err, ErrNotFound)

	_, err = s.UpdateReviewer("aaaa-bbbb", func(r *Reviewer) error { r.Seq, r.AckCursor = 5, 7; return nil }, nil)
	if got, _ := s.Reviewer("aaaa-bbbb"); err != nil || got.Seq != 5 || got.AckCursor != 7 {
		t.Errorf("after UpdateReviewer: %+v, %v", got, err)
	}
	_, err = s.UpdateReviewer("aaaa-bbbb", func(r *Reviewer) error { r.Fingerprint = "x"; return nil }, nil)
	mustIs(t, err, ErrImmutable)
	_, err = s.PutReviewer(&Reviewer{}, nil)
	mustIs(t, err, ErrInvalid)

	all, err := s.Reviewers()
	if err != nil || len(all) != 3 || all[0].Fingerprint != "aaaa-bbbb" {
		t.Errorf("Reviewers = %v, %v", all, err)
	}
	if _, err := s.DeleteReviewer("aaaa-bbbb", [][]byte{[]byte("removed")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Reviewer("aaaa-bbbb")
	mustIs(t, err, ErrNotFound)
	_, err = s.DeleteReviewer("aaaa-bbbb", nil)
	mustIs(t, err, ErrNotFound)
	if n, _ := s.LogSize(); n != 2 {
		t.Errorf("log size = %d, want 2", n)
	}
}

func equalReviewer(a, b *Reviewer) bool {
	return a.Fingerprint == b.Fingerprint && bytes.Equal(a.Card, b.Card) && a.TokenHash == b.TokenHash &&
		a.ClientAuthPub == b.ClientAuthPub && a.Seq == b.Seq && a.AckCursor == b.AckCursor &&
		a.AckTreeSize == b.AckTreeSize && a.Added == b.Added
}

func TestMeta(t *testing.T) {
	s := openTest(t)
	_, err := s.Meta("salt")
	mustIs(t, err, ErrNotFound)
	for _, v := range [][]byte{[]byte("value"), {}} {
		if err := s.PutMeta("salt", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Meta("salt"); err != nil || !bytes.Equal(got, v) {
			t.Errorf("Meta = %q, %v; want %q", got, err, v)
		}
	}
	mustIs(t, s.PutMeta(schemaKey, []byte("2")), ErrInvalid)
	mustIs(t, s.PutMeta("", []byte("x")), ErrInvalid)
}

func TestClosedStore(t *testing.T) {
	s := openTest(t)
	w, _ := s.NewBlob()
	s.Close()
	mustIs(t, s.Close(), ErrClosed)
	_, err := s.Case(CaseID{})
	mustIs(t, err, ErrClosed)
	_, err = w.Write(make([]byte, testChunk))
	mustIs(t, err, ErrClosed)
	_, err = s.Backup(&bytes.Buffer{})
	mustIs(t, err, ErrClosed)
}

func TestIDs(t *testing.T) {
	id := CaseID{0xde, 0xad}
	got, err := ParseCaseID(id.String())
	if err != nil || got != id {
		t.Errorf("ParseCaseID(%s) = %v, %v", id, got, err)
	}
	for _, bad := range []string{"", "dead", strings.Repeat("g", 32), id.String() + "00"} {
		if _, err := ParseBlobID(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseBlobID(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
