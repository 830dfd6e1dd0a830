package leaf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestStoredLeafRoundTrip(t *testing.T) {
	k := newKey(t)
	lf, err := New(rand.Reader, []byte("case-created"), Addressed, []Tag{k.Tag(testOrigin, 3)}, DefaultTagCount)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != lf.Hash() || !bytes.Equal(got.Rest, lf.Rest) || !got.AddressedTo(k.Tag(testOrigin, 3)) {
		t.Fatalf("stored leaf changed: %+v", got)
	}
	for _, bad := range [][]byte{nil, {0}, b[:len(b)-1], append(bytes.Clone(b), 0)} {
		if _, err := Parse(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%x…) = %v, want ErrMalformed", bad[:min(len(bad), 4)], err)
		}
	}
	head := Leaf{Scope: lf.Scope, Tags: lf.Tags, RestHash: lf.RestHash}
	if _, err := head.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Errorf("a leaf without content was stored: %v", err)
	}
}

// A list that passes through a size the reader verified before must make that size's root: the
// reader detects a fork it could not see from the new checkpoint alone.
func TestVerifyKnownTreeDetectsFork(t *testing.T) {
	g, a, _, _, _ := threeReviewers(t)
	o := opts(a)
	o.Known = []tlog.Tree{g.tree(t, 17), g.tree(t, 30)}
	if _, err := Verify(g.list(t, 10, a), g.tree(t, 10), g.tree(t, 40), o); err != nil {
		t.Fatalf("honest list: %v", err)
	}
	// The fork: a second history that agrees up to 20 and then differs, signed at size 40.
	fork := &testLog{}
	for i := range 40 {
		if i < 20 {
			fork.push(t, &g.leaves[i])
			continue
		}
		fork.add(t, "other history", Addressed, DefaultTagCount, a)
	}
	_, err := Verify(fork.list(t, 10, a), fork.tree(t, 10), fork.tree(t, 40), o)
	if !errors.Is(err, ErrFork) {
		t.Fatalf("forked list: got %v, want ErrFork", err)
	}
}

func FuzzParseStored(f *testing.F) {
	k := newKey(f)
	for _, scope := range []Scope{Addressed, Public} {
		lf, _ := New(rand.Reader, []byte("x"), scope, []Tag{k.Tag(testOrigin, 0)}, 2)
		b, _ := lf.Marshal()
		f.Add(b)
	}
	f.Add([]byte{1, 0, 0, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		lf, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		got, err := lf.Marshal()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
