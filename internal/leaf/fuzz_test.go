package leaf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func FuzzParseList(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input, which is slow for kilobyte-long ones.
	g, a, _, _, _ := threeReviewers(f)
	for _, start := range []int64{37, 39, 40} {
		b, _ := g.list(f, start, a).Marshal()
		f.Add(b)
	}
	small := &testLog{}
	small.add(f, "x", Addressed, DefaultTagCount, a)
	small.add(f, "y", Public, DefaultTagCount)
	b, _ := small.list(f, 0, a).Marshal()
	f.Add(b)
	f.Add([]byte(listMagic + "\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseList(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		got, err := l.Marshal()
		if err != nil {
			t.Fatalf("parsed list does not encode: %v", err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("round trip changed the encoding")
		}
		// Whatever parses, Verify judges without panicking.
		_, _ = Verify(l, tlog.Tree{N: l.Start}, tlog.Tree{N: l.Start + int64(len(l.Leaves))}, opts(a))
	})
}

// FuzzTags: a leaf addressed to some of four reviewers, padded to a fuzzed count, survives the
// wire and is delivered exactly to its recipients, each of whom verifies the tree.
func FuzzTags(f *testing.F) {
	keys := []*AddressingKey{newKey(f), newKey(f), newKey(f), newKey(f)}
	f.Add([]byte("entry"), uint8(0b0101), uint8(8), int64(0), false)
	f.Add([]byte{0}, uint8(0), uint8(1), int64(1<<40), true)
	f.Fuzz(func(t *testing.T, rest []byte, who uint8, count uint8, start int64, public bool) {
		if start < 0 || start > 1<<50 {
			return
		}
		scope := Addressed
		if public {
			scope = Public
		}
		var tags []Tag
		for i, k := range keys {
			if who&(1<<i) != 0 {
				tags = append(tags, k.Tag(testOrigin, start))
			}
		}
		lf, err := New(rand.Reader, rest, scope, tags, int(count))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooManyRecipients) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// A one-leaf tree appended to a frontier of start leaves, all zero hashes.
		var fr frontier
		fr.size = start
		for range popcount(start) {
			fr.hashes = append(fr.hashes, tlog.Hash{})
		}
		old := tlog.Tree{N: start, Hash: fr.root()}
		front := append([]tlog.Hash(nil), fr.hashes...)
		fr.append(lf.Hash())
		cur := tlog.Tree{N: start + 1, Hash: fr.root()}
		for i, k := range keys {
			l := roundTrip(t, Select(testOrigin, start, front, []Leaf{*lf}, k))
			res, err := Verify(l, old, cur, Options{Origin: testOrigin, Key: k, TagCount: int(count)})
			if err != nil {
				t.Fatalf("reviewer %d: %v", i, err)
			}
			want := public || who&(1<<i) != 0
			if got := len(res.Addressed) == 1; got != want {
				t.Fatalf("reviewer %d: delivered %v, want %v", i, got, want)
			}
			if want && !bytes.Equal(res.Addressed[0].Rest, rest) {
				t.Fatalf("reviewer %d: content changed", i)
			}
		}
	})
}

func popcount(n int64) int {
	c := 0
	for ; n != 0; n &= n - 1 {
		c++
	}
	return c
}

func FuzzCommit(f *testing.F) {
	f.Add("age1reporter", "fp-a", "fp-b", []byte("salt"))
	f.Fuzz(func(t *testing.T, reporter, r1, r2 string, saltIn []byte) {
		var salt [SaltSize]byte
		copy(salt[:], saltIn)
		s := RecipientSet{Reporter: reporter, Reviewers: []string{r1, r2}}
		c, err := s.Commit(&salt)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		swapped := RecipientSet{Reporter: reporter, Reviewers: []string{r2, r1}}
		if err := swapped.Check(&salt, c); err != nil {
			t.Fatalf("order changed the commitment: %v", err)
		}
		dropped := RecipientSet{Reporter: reporter, Reviewers: []string{r1}}
		if err := dropped.Check(&salt, c); !errors.Is(err, ErrCommitment) {
			t.Fatalf("a smaller set matches: %v", err)
		}
	})
}
