package store

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"candor/internal/leaf"
)

// mth is RFC 6962's Merkle tree hash, written from the RFC (§2.1), independent of tlog.
func mth(entries [][]byte) tlog.Hash {
	if len(entries) == 1 {
		return sha256.Sum256(append([]byte{0}, entries[0]...))
	}
	k := 1
	for k*2 < len(entries) {
		k *= 2
	}
	l, r := mth(entries[:k]), mth(entries[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// heads returns the heads of the stored leaves (what the tree hashes), checking that their
// contents are entries and that each is a public leaf with the constant tag count.
func heads(t testing.TB, s *Store, entries [][]byte) [][]byte {
	t.Helper()
	out := make([][]byte, len(entries))
	for i, e := range entries {
		lf, err := s.LogLeaf(int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if string(lf.Rest) != string(e) || lf.Scope != leaf.Public || len(lf.Tags) != TagCount {
			t.Fatalf("leaf %d: %q, scope %d, %d tags", i, lf.Rest, lf.Scope, len(lf.Tags))
		}
		out[i] = lf.Head()
	}
	return out
}

func TestLog(t *testing.T) {
	s := openTest(t)
	var entries [][]byte
	for batch := 1; len(entries) < 40; batch++ { // batches of 1, 2, 3, … entries
		var b [][]byte
		for range batch {
			b = append(b, fmt.Appendf(nil, "entry %d", len(entries)+len(b)))
		}
		idx, err := s.AppendLog(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range idx {
			if x != int64(len(entries)+i) {
				t.Fatalf("AppendLog returned index %d, want %d", x, len(entries)+i)
			}
		}
		entries = append(entries, b...)
	}
	n := int64(len(entries))
	if got, err := s.LogSize(); got != n || err != nil {
		t.Fatalf("LogSize = %d, %v; want %d", got, err, n)
	}
	contents := entries
	entries = heads(t, s, contents)
	for size := int64(1); size <= n; size++ {
		th, err := s.TreeHash(size)
		if err != nil {
			t.Fatal(err)
		}
		if want := mth(entries[:size]); th != want {
			t.Fatalf("TreeHash(%d) = %v, want %v", size, th, want)
		}
		for i := range size {
			p, err := s.ProveRecord(size, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(p, size, th, i, tlog.RecordHash(entries[i])); err != nil {
				t.Fatalf("record %d in tree %d: %v", i, size, err)
			}
		}
		for old := int64(1); old <= size; old++ {
			p, err := s.ProveTree(size, old)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(p, size, th, old, mth(entries[:old])); err != nil {
				t.Fatalf("tree %d in %d: %v", old, size, err)
			}
		}
	}
	gotN, head, err := s.LogHead()
	if err != nil || gotN != n || head != mth(entries) {
		t.Errorf("LogHead = %d, %v, %v; want %d and the full tree hash", gotN, head, err, n)
	}
	if e, err := s.LogEntry(n - 1); err != nil || string(e) != string(contents[n-1]) {
		t.Errorf("LogEntry(%d) = %q, %v", n-1, e, err)
	}
}

func TestLogRanges(t *testing.T) {
	s := openTest(t)
	if h, err := s.TreeHash(0); err != nil || h != sha256.Sum256(nil) {
		t.Errorf("TreeHash(0) of an empty log = %v, %v; want SHA-256 of nothing (RFC 6962)", h, err)
	}
	s.AppendLog([][]byte{[]byte("a"), []byte("b")})
	_, err := s.LogEntry(-1)
	mustIs(t, err, ErrNotFound)
	_, err = s.LogEntry(2)
	mustIs(t, err, ErrNotFound)
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"TreeHash(3)", func() error { _, err := s.TreeHash(3); return err }()},
		{"TreeHash(-1)", func() error { _, err := s.TreeHash(-1); return err }()},
		{"ProveRecord(3, 0)", func() error { _, err := s.ProveRecord(3, 0); return err }()},
		{"ProveRecord(2, 2)", func() error { _, err := s.ProveRecord(2, 2); return err }()},
		{"ProveTree(3, 1)", func() error { _, err := s.ProveTree(3, 1); return err }()},
		{"ProveTree(2, 0)", func() error { _, err := s.ProveTree(2, 0); return err }()},
		{"ProveTree(1, 2)", func() error { _, err := s.ProveTree(1, 2); return err }()},
		{"empty entry", func() error { _, err := s.AppendLog([][]byte{{}}); return err }()},
		{"huge entry", func() error { _, err := s.AppendLog([][]byte{make([]byte, MaxLogEntrySize+1)}); return err }()},
	} {
		t.Run(tt.name, func(t *testing.T) { mustIs(t, tt.err, ErrInvalid) })
	}
	if n, _ := s.LogSize(); n != 2 {
		t.Errorf("LogSize after refused appends = %d, want 2", n)
	}
}

func TestLogSurvivesReopen(t *testing.T) {
	s := openTest(t)
	s.AppendLog([][]byte{[]byte("a"), []byte("b"), []byte("c")})
	path := s.Path()
	s.Close()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AppendLog([][]byte{[]byte("d")}); err != nil {
		t.Fatal(err)
	}
	h, _ := s.TreeHash(4)
	if want := mth(heads(t, s, [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")})); h != want {
		t.Errorf("TreeHash after reopen = %v, want %v", h, want)
	}
}
