package leaf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "candor.invalid/test/epoch-1"

// testLog is a server-side log of leaves with tlog's stored hashes.
type testLog struct {
	leaves []Leaf
	hashes []tlog.Hash
}

func (g *testLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(g.hashes)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = g.hashes[x]
	}
	return out, nil
}

func (g *testLog) size() int64 { return int64(len(g.leaves)) }

// add appends a leaf whose content is rest, addressed to keys (or Public), with tagCount tags.
func (g *testLog) add(t testing.TB, rest string, scope Scope, tagCount int, keys ...*AddressingKey) *Leaf {
	t.Helper()
	var tags []Tag
	for _, k := range keys {
		tags = append(tags, k.Tag(testOrigin, g.size()))
	}
	lf, err := New(rand.Reader, []byte(rest), scope, tags, tagCount)
	if err != nil {
		t.Fatal(err)
	}
	g.push(t, lf)
	return lf
}

func (g *testLog) push(t testing.TB, lf *Leaf) {
	t.Helper()
	hs, err := tlog.StoredHashes(g.size(), lf.Head(), g)
	if err != nil {
		t.Fatal(err)
	}
	g.hashes = append(g.hashes, hs...)
	g.leaves = append(g.leaves, *lf)
}

func (g *testLog) tree(t testing.TB, n int64) tlog.Tree {
	t.Helper()
	h, err := tlog.TreeHash(n, g)
	if err != nil {
		t.Fatal(err)
	}
	return tlog.Tree{N: n, Hash: h}
}

// list is what the server sends a reviewer with key, from size start to the end.
func (g *testLog) list(t testing.TB, start int64, key *AddressingKey) *List {
	t.Helper()
	f, err := Frontier(start, g)
	if err != nil {
		t.Fatal(err)
	}
	return Select(testOrigin, start, f, g.leaves[start:], key)
}

func newKey(t testing.TB) *AddressingKey {
	t.Helper()
	k, err := GenerateAddressingKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func opts(k *AddressingKey) Options {
	return Options{Origin: testOrigin, Key: k, TagCount: DefaultTagCount}
}

// roundTrip encodes and decodes a list, as the bundle carries it.
func roundTrip(t testing.TB, l *List) *List {
	t.Helper()
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseList(b)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// threeReviewers builds a log of 40 leaves: cases for A alone, A and B, B alone, and public ones.
func threeReviewers(t testing.TB) (*testLog, *AddressingKey, *AddressingKey, *AddressingKey, []int64) {
	a, b, c := newKey(t), newKey(t), newKey(t)
	g := &testLog{}
	var forA []int64
	for i := range 40 {
		rest := fmt.Sprintf("entry %d.", i)
		switch i % 4 {
		case 0:
			forA = append(forA, g.size())
			g.add(t, rest, Addressed, DefaultTagCount, a)
		case 1:
			forA = append(forA, g.size())
			g.add(t, rest, Addressed, DefaultTagCount, a, b)
		case 2:
			g.add(t, rest, Addressed, DefaultTagCount, b, c)
		case 3:
			if i%8 == 3 {
				forA = append(forA, g.size())
				g.add(t, rest, Public, DefaultTagCount)
			} else {
				g.add(t, rest, Addressed, DefaultTagCount, c)
			}
		}
	}
	return g, a, b, c, forA
}

func TestFrontierMatchesTlog(t *testing.T) {
	g := &testLog{}
	k := newKey(t)
	var f frontier
	for n := int64(0); n <= 130; n++ {
		want := g.tree(t, n).Hash
		if got := f.root(); got != want {
			t.Fatalf("size %d: appended frontier root %v, tlog %v", n, got, want)
		}
		hs, err := Frontier(n, g)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(hs, f.hashes) {
			t.Fatalf("size %d: stored frontier %v, appended %v", n, hs, f.hashes)
		}
		lf := g.add(t, fmt.Sprint(n), Addressed, 2, k)
		f.append(lf.Hash())
	}
}

func TestVerifyDeliversWhatIsAddressed(t *testing.T) {
	g, a, b, c, forA := threeReviewers(t)
	for _, start := range []int64{0, 1, 7, 16, 39, 40} {
		res, err := Verify(roundTrip(t, g.list(t, start, a)), g.tree(t, start), g.tree(t, 40), opts(a))
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		var got []int64
		for _, d := range res.Addressed {
			got = append(got, d.Index)
			if want := fmt.Sprintf("entry %d.", d.Index); string(d.Rest) != want {
				t.Errorf("leaf %d: content %q, want %q", d.Index, d.Rest, want)
			}
		}
		want := slices.DeleteFunc(slices.Clone(forA), func(i int64) bool { return i < start })
		if !slices.Equal(got, want) || res.Others != int(40-start)-len(want) {
			t.Errorf("start %d: addressed %v (others %d), want %v", start, got, res.Others, want)
		}
	}
	// Every reviewer verifies its own view of the same tree.
	for _, k := range []*AddressingKey{b, c} {
		if _, err := Verify(roundTrip(t, g.list(t, 0, k)), g.tree(t, 0), g.tree(t, 40), opts(k)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExcludedReviewerGetsNoContent(t *testing.T) {
	g, a, _, c, _ := threeReviewers(t)
	b, err := g.list(t, 0, c).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for i, lf := range g.leaves {
		if !lf.AddressedTo(c.Tag(testOrigin, int64(i))) && bytes.Contains(b, lf.Rest) {
			t.Errorf("leaf %d's content is in the excluded reviewer's list", i)
		}
	}
	// A's tags differ from leaf to leaf: an outsider cannot link A's leaves.
	if a.Tag(testOrigin, 0) == a.Tag(testOrigin, 1) || a.Tag(testOrigin, 0) == a.Tag("candor.invalid/test/epoch-2", 0) {
		t.Error("tags repeat across leaves or epochs")
	}
}

func TestVerifyRefusesTampering(t *testing.T) {
	g, a, _, _, forA := threeReviewers(t)
	old, cur := g.tree(t, 0), g.tree(t, 40)
	mine := forA[1] // addressed to A and B
	tests := []struct {
		name   string
		tamper func(l *List) (old, cur tlog.Tree)
		want   error
	}{
		{"withheld leaf", func(l *List) (tlog.Tree, tlog.Tree) { l.Leaves[mine].Rest = nil; return old, cur }, ErrWithheld},
		{"hidden tag", func(l *List) (tlog.Tree, tlog.Tree) {
			lf := &l.Leaves[mine]
			i := slices.Index(lf.Tags, a.Tag(testOrigin, mine))
			lf.Tags[i] = Tag{0xff, 0xff}
			slices.SortFunc(lf.Tags, func(x, y Tag) int { return bytes.Compare(x[:], y[:]) })
			lf.Rest = nil
			return old, cur
		}, ErrRootMismatch},
		{"altered content", func(l *List) (tlog.Tree, tlog.Tree) {
			l.Leaves[mine].Rest = []byte("entry forged")
			l.Leaves[mine].RestHash = [32]byte(sha(l.Leaves[mine].Rest))
			return old, cur
		}, ErrRootMismatch},
		{"dropped leaf", func(l *List) (tlog.Tree, tlog.Tree) { l.Leaves = slices.Delete(l.Leaves, 5, 6); return old, cur }, ErrTruncated},
		{"list cut short", func(l *List) (tlog.Tree, tlog.Tree) { l.Leaves = l.Leaves[:30]; return old, cur }, ErrTruncated},
		{"leaked content", func(l *List) (tlog.Tree, tlog.Tree) { l.Leaves[2] = g.leaves[2]; return old, cur }, ErrUnaddressed},
		{"starts elsewhere", func(l *List) (tlog.Tree, tlog.Tree) { return g.tree(t, 1), cur }, ErrRange},
		{"forged frontier", func(l *List) (tlog.Tree, tlog.Tree) {
			*l = *g.list(t, 8, a)
			l.Frontier[0][0] ^= 1
			return g.tree(t, 8), cur
		}, ErrFrontier},
		{"smaller new tree", func(l *List) (tlog.Tree, tlog.Tree) { return old, tlog.Tree{N: 0} }, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := g.list(t, 0, a)
			l.Leaves = slices.Clone(l.Leaves)
			for i := range l.Leaves {
				l.Leaves[i].Tags = slices.Clone(l.Leaves[i].Tags)
			}
			o, c := tt.tamper(l)
			if _, err := Verify(l, o, c, opts(a)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPaddingViolation: the server built a leaf with fewer tags than the constant count (e.g. to
// mark a one-reviewer case); even though the tree is consistent, the reader refuses it.
func TestPaddingViolation(t *testing.T) {
	a := newKey(t)
	g := &testLog{}
	g.add(t, "ok", Addressed, DefaultTagCount, a)
	g.add(t, "short", Addressed, 1, a)
	for _, k := range []*AddressingKey{a, newKey(t)} {
		_, err := Verify(roundTrip(t, g.list(t, 0, k)), g.tree(t, 0), g.tree(t, 2), opts(k))
		if !errors.Is(err, ErrPadding) {
			t.Fatalf("got %v, want ErrPadding", err)
		}
	}
}

func TestParseListRefusesTruncation(t *testing.T) {
	g, a, _, _, _ := threeReviewers(t)
	b, err := g.list(t, 5, a).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := ParseList(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix of %d of %d bytes: got %v, want ErrMalformed", n, len(b), err)
		}
	}
	if _, err := ParseList(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: got %v", err)
	}
}

func TestParseListRefusesNonCanonical(t *testing.T) {
	g, a, _, _, _ := threeReviewers(t)
	good, _ := g.list(t, 0, a).Marshal()
	hdr := len(listMagic) + 1 + 8 + 1 + 4 // no frontier at start 0
	leaf0 := hdr                          // form, scope, k, tags...
	mutate := func(i int, v byte) []byte { b := bytes.Clone(good); b[i] = v; return b }
	for name, b := range map[string][]byte{
		"version":        mutate(len(listMagic), 2),
		"frontier count": mutate(len(listMagic)+9, 1),
		"form":           mutate(leaf0, 2),
		"scope":          mutate(leaf0+1, 2),
		"unsorted tags":  swapTags(good, leaf0+3),
		"empty content":  append(good[:leaf0+3+DefaultTagCount*TagSize:leaf0+3+DefaultTagCount*TagSize], 0, 0),
	} {
		if _, err := ParseList(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func swapTags(b []byte, at int) []byte {
	b = bytes.Clone(b)
	var t0 [TagSize]byte
	copy(t0[:], b[at:])
	copy(b[at:], b[at+TagSize:at+2*TagSize])
	copy(b[at+TagSize:], t0[:])
	return b
}

func TestNewLeaf(t *testing.T) {
	k := newKey(t)
	tag := k.Tag(testOrigin, 3)
	lf, err := New(rand.Reader, []byte("x"), Addressed, []Tag{tag}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(lf.Tags) != 8 || !strictlySorted(lf.Tags) || !lf.AddressedTo(tag) || lf.AddressedTo(k.Tag(testOrigin, 4)) {
		t.Errorf("leaf %+v", lf)
	}
	if len(lf.Head()) != 3+8*TagSize+32 || lf.Hash() != tlog.RecordHash(lf.Head()) {
		t.Error("head or hash not as specified")
	}
	tags := []Tag{{1}, {2}, {3}}
	for name, err := range map[string]error{
		"too many":    errOf(New(rand.Reader, []byte("x"), Addressed, tags, 2)),
		"duplicate":   errOf(New(rand.Reader, []byte("x"), Addressed, []Tag{{1}, {1}}, 4)),
		"empty":       errOf(New(rand.Reader, nil, Addressed, tags, 4)),
		"huge":        errOf(New(rand.Reader, make([]byte, MaxRestLen+1), Addressed, tags, 4)),
		"bad scope":   errOf(New(rand.Reader, []byte("x"), 7, tags, 4)),
		"zero tags":   errOf(New(rand.Reader, []byte("x"), Public, nil, 0)),
		"short rand":  errOf(New(bytes.NewReader(nil), []byte("x"), Public, nil, 4)),
		"bad key len": errOf(NewAddressingKey(make([]byte, 31))),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if !errors.Is(errOf(New(rand.Reader, []byte("x"), Addressed, tags, 2)), ErrTooManyRecipients) {
		t.Error("too many recipients: wrong error")
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestAddressingKeyIsNotPrinted(t *testing.T) {
	k, _ := NewAddressingKey(bytes.Repeat([]byte{0xab}, KeySize))
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(strings.ToLower(s), "abab") || strings.Contains(s, "171") {
			t.Errorf("key printed: %q", s)
		}
	}
	if !bytes.Equal(k.Bytes(), bytes.Repeat([]byte{0xab}, KeySize)) {
		t.Error("Bytes does not round-trip")
	}
}

func TestRecipientCommitment(t *testing.T) {
	salt, _ := NewSalt(rand.Reader)
	set := RecipientSet{Reporter: "age1pq1reporter", Reviewers: []string{"fp-b", "fp-a", "fp-c"}}
	c, err := set.Commit(&salt)
	if err != nil {
		t.Fatal(err)
	}
	reordered := RecipientSet{Reporter: set.Reporter, Reviewers: []string{"fp-c", "fp-a", "fp-b"}}
	if err := reordered.Check(&salt, c); err != nil {
		t.Errorf("order changed the commitment: %v", err)
	}
	otherSalt := salt
	otherSalt[0] ^= 1
	for name, s := range map[string]RecipientSet{
		"swapped reporter": {Reporter: "age1admin", Reviewers: set.Reviewers},
		"added reviewer":   {Reporter: set.Reporter, Reviewers: append(slices.Clone(set.Reviewers), "fp-x")},
		"removed reviewer": {Reporter: set.Reporter, Reviewers: set.Reviewers[:2]},
		"boundary shift":   {Reporter: set.Reporter, Reviewers: []string{"fp-afp-b", "fp-c"}},
	} {
		if err := s.Check(&salt, c); !errors.Is(err, ErrCommitment) {
			t.Errorf("%s: got %v, want ErrCommitment", name, err)
		}
	}
	if err := set.Check(&otherSalt, c); !errors.Is(err, ErrCommitment) {
		t.Errorf("other salt: got %v", err)
	}
	for name, s := range map[string]RecipientSet{
		"no reviewers":  {Reporter: "r"},
		"duplicate":     {Reporter: "r", Reviewers: []string{"a", "a"}},
		"space":         {Reporter: "r", Reviewers: []string{"a b"}},
		"no reporter":   {Reviewers: []string{"a"}},
		"control":       {Reporter: "r\n", Reviewers: []string{"a"}},
		"long reviewer": {Reporter: "r", Reviewers: []string{strings.Repeat("a", 65)}},
	} {
		if _, err := s.Commit(&salt); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	g, a, _, _, _ := threeReviewers(t)
	l := g.list(t, 3, a)
	l.Frontier = l.Frontier[:1]
	if _, err := l.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Errorf("short frontier: got %v", err)
	}
	l = g.list(t, 0, a)
	l.Leaves[0].Rest = []byte("not what was hashed")
	if _, err := l.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Errorf("content not matching hash: got %v", err)
	}
	if !reflect.DeepEqual(roundTrip(t, g.list(t, 0, a)), g.list(t, 0, a)) {
		t.Error("round trip changed the list")
	}
}

func sha(b []byte) [32]byte { return sha256Sum(b) }
