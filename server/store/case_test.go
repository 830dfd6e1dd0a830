package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestCaseLifecycle(t *testing.T) {
	s := openTest(t)
	report := writeBlob(t, s, []byte("h1"), payload(1, 3000), 1000)
	c := newCase(7, report)
	idx, err := s.CreateCase(c, []BlobID{report}, [][]byte{[]byte("e0"), []byte("e1")})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID.IsZero() || !slices.Equal(idx, []int64{0, 1}) || !slices.Equal(c.LogIndices, idx) {
		t.Fatalf("CreateCase: ID %v, indices %v, LogIndices %v; want an ID and [0 1] twice", c.ID, idx, c.LogIndices)
	}

	got, err := s.Case(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(c) {
		t.Errorf("Case = %+v, want %+v", got, c)
	}
	byLookup, err := s.CaseByLookup(c.Lookup)
	if err != nil || byLookup.ID != c.ID {
		t.Fatalf("CaseByLookup = %v, %v; want case %v", byLookup, err, c.ID)
	}

	reply := writeBlob(t, s, []byte("h2"), payload(2, 500), 500)
	m := Message{Blob: reply, Kind: KindReply, Author: "aaaa-bbbb", Day: testDay.AddDays(3)}
	if idx, err = s.AddMessage(c.ID, m, [][]byte{[]byte("e2")}); err != nil || !slices.Equal(idx, []int64{2}) {
		t.Fatalf("AddMessage = %v, %v; want [2]", idx, err)
	}
	if idx, err = s.UpdateCase(c.ID, func(c *Case) error {
		c.Status, c.Acknowledged, c.Holds = "acknowledged", testDay.AddDays(1), []string{"aaaa-bbbb"}
		return nil
	}, [][]byte{[]byte("e3")}); err != nil || !slices.Equal(idx, []int64{3}) {
		t.Fatalf("UpdateCase = %v, %v; want [3]", idx, err)
	}
	got, _ = s.Case(c.ID)
	if got.Status != "acknowledged" || len(got.Messages) != 2 || got.Messages[1].Size != 502 ||
		!slices.Equal(got.LogIndices, []int64{0, 1, 2, 3}) {
		t.Errorf("after AddMessage and UpdateCase: %+v", got)
	}

	_, err = s.DeleteCase(c.ID, nil)
	mustIs(t, err, ErrHeld)
	s.UpdateCase(c.ID, func(c *Case) error { c.Holds = nil; return nil }, nil)
	if idx, err = s.DeleteCase(c.ID, [][]byte{[]byte("deleted")}); err != nil || !slices.Equal(idx, []int64{4}) {
		t.Fatalf("DeleteCase = %v, %v; want [4]", idx, err)
	}
	_, err = s.Case(c.ID)
	mustIs(t, err, ErrNotFound)
	_, err = s.CaseByLookup(c.Lookup)
	mustIs(t, err, ErrNotFound)
	if n := keyCounts(t, s); n["cases"]+n["lookup"]+n["headers"]+n["chunks"]+n["pending"] != 0 {
		t.Errorf("after DeleteCase: %v, want no cases, lookups, headers, chunks or pending", n)
	}

	var kinds []string
	s.Feed(0, func(it FeedItem) error {
		if it.Case != c.ID {
			t.Errorf("feed item %d names another case", it.Seq)
		}
		kinds = append(kinds, fmt.Sprintf("%d:%s", it.Seq, it.Kind))
		return nil
	})
	if want := []string{"1:case", "2:message", "3:update", "4:update", "5:delete"}; !slices.Equal(kinds, want) {
		t.Errorf("feed = %v, want %v", kinds, want)
	}
}

func TestCreateCaseRefusals(t *testing.T) {
	s := openTest(t)
	first := createCase(t, s, 1, []byte("h"), []byte("p"))
	unclosed, _ := s.NewBlob()
	closed := writeBlob(t, s, []byte("h"), []byte("p"), 1)
	tests := []struct {
		name  string
		c     *Case
		blobs []BlobID
		want  error
	}{
		{"duplicate lookup", newCase(1, closed), []BlobID{closed}, ErrExists},
		{"duplicate ID", func() *Case { c := newCase(2, closed); c.ID = first.ID; return c }(), []BlobID{closed}, ErrExists},
		{"committed blob", newCase(3, first.Messages[0].Blob), []BlobID{first.Messages[0].Blob}, ErrNotPending},
		{"unclosed blob", newCase(3, unclosed.ID()), []BlobID{unclosed.ID()}, ErrNotPending},
		{"missing blob", newCase(3, BlobID{9}), []BlobID{{9}}, ErrNotPending},
		{"blobs not the messages", newCase(3, closed), []BlobID{{9}}, ErrInvalid},
		{"extra blob", newCase(3, closed), []BlobID{closed, {9}}, ErrInvalid},
		{"same blob twice", newCase(3, closed, closed), []BlobID{closed, closed}, ErrInvalid},
		{"empty log entry", newCase(3, closed), []BlobID{closed}, ErrInvalid},
	}
	before := keyCounts(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := [][]byte{[]byte("ok")}
			if tt.want == ErrInvalid {
				entries = append(entries, nil)
			}
			_, err := s.CreateCase(tt.c, tt.blobs, entries)
			mustIs(t, err, tt.want)
			// Nothing of a refused operation is stored: not the case, the log entry, the feed item.
			if got := keyCounts(t, s); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Errorf("keys after refused CreateCase: %v, want %v", got, before)
			}
		})
	}
	// The refused blob is still pending and can be committed.
	if _, err := s.CreateCase(newCase(4, closed), []BlobID{closed}, nil); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, s)
}

func TestUpdateCaseRefusals(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("h"), []byte("p"))
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(*Case) error
		want error
	}{
		{"fn fails", func(c *Case) error { c.Status = "closed"; return boom }, boom},
		{"ID", func(c *Case) error { c.ID[0]++; return nil }, ErrImmutable},
		{"Lookup", func(c *Case) error { c.Lookup[0]++; return nil }, ErrImmutable},
		{"Messages", func(c *Case) error { c.Messages[0].Size++; return nil }, ErrImmutable},
		{"LogIndices", func(c *Case) error { c.LogIndices = nil; return nil }, ErrImmutable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateCase(c.ID, tt.fn, [][]byte{[]byte("e")})
			mustIs(t, err, tt.want)
			got, _ := s.Case(c.ID)
			if fmt.Sprint(got) != fmt.Sprint(c) {
				t.Errorf("case after refused update = %+v, want %+v", got, c)
			}
		})
	}
	if n, _ := s.LogSize(); n != 1 {
		t.Errorf("log size = %d, want 1 (refused updates log nothing)", n)
	}
	_, err := s.UpdateCase(CaseID{1}, func(*Case) error { return nil }, nil)
	mustIs(t, err, ErrNotFound)
	_, err = s.AddMessage(CaseID{1}, Message{}, nil)
	mustIs(t, err, ErrNotFound)
	_, err = s.DeleteCase(CaseID{1}, nil)
	mustIs(t, err, ErrNotFound)
}

func TestCasesIteration(t *testing.T) {
	s := openTest(t)
	want := map[CaseID]bool{}
	// More than one read batch, written in one transaction to keep the test fast.
	err := s.update(func(tx *bolt.Tx) error {
		for i := range casesBatch + 10 {
			c := newCase(0)
			c.ID, c.Lookup[1], c.Lookup[2] = newCaseID(), byte(i), byte(i>>8)
			if err := tx.Bucket(bucketLookup).Put(c.Lookup[:], c.ID[:]); err != nil {
				return err
			}
			if _, err := putCase(tx, c, FeedItem{Case: c.ID, Kind: FeedCase}, nil); err != nil {
				return err
			}
			want[c.ID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var prev CaseID
	seen := 0
	err = s.Cases(func(c *Case) error {
		if !want[c.ID] || slices.Compare(c.ID[:], prev[:]) <= 0 {
			t.Fatalf("Cases: unexpected or out-of-order case %v", c.ID)
		}
		prev, seen = c.ID, seen+1
		return nil
	})
	if err != nil || seen != len(want) {
		t.Errorf("Cases saw %d cases (err %v), want %d", seen, err, len(want))
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Cases(func(*Case) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Cases with a failing fn: %d calls, %v; want 1, stop", n, err)
	}
	st, err := s.Stats()
	if err != nil || st.Cases != len(want) || st.ByStatus["received"] != len(want) {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

func TestValuesAreCopies(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("header"), []byte("payload"))
	got, _ := s.Case(c.ID)
	got.Reviewers[0], got.Messages[0].Kind, got.LogIndices[0] = "x", "x", 99
	again, _ := s.Case(c.ID)
	if fmt.Sprint(again) != fmt.Sprint(c) {
		t.Errorf("mutating a returned case changed the store: %+v", again)
	}
	c.Reviewers[0] = "y" // the caller's case is not shared with the store either
	if again, _ := s.Case(c.ID); again.Reviewers[0] == "y" {
		t.Error("CreateCase kept the caller's slice")
	}

	b, _ := s.OpenBlob(c.Messages[0].Blob)
	b.Header[0] = 'X'
	if h, _ := readBlob(t, s, c.Messages[0].Blob); string(h) != "header" {
		t.Errorf("header after mutating a copy = %q", h)
	}
	buf := make([]byte, 7)
	b.Read(buf)
	buf[0] = 'X'
	if _, p := readBlob(t, s, c.Messages[0].Blob); string(p) != "payload" {
		t.Errorf("payload after mutating a copy = %q", p)
	}

	e, _ := s.LogEntry(0)
	e[0] = 'X'
	if e, _ := s.LogEntry(0); string(e) != "created" {
		t.Errorf("log entry after mutating a copy = %q", e)
	}
	s.PutMeta("k", []byte("v"))
	v, _ := s.Meta("k")
	v[0] = 'X'
	if v, _ := s.Meta("k"); string(v) != "v" {
		t.Errorf("meta after mutating a copy = %q", v)
	}
}
