package store

import (
	"crypto/rand"
	"testing"

	"candor/internal/leaf"
)

// addReviewer registers fp with a fresh addressing key and returns the key.
func addReviewer(t testing.TB, s *Store, fp string) *leaf.AddressingKey {
	t.Helper()
	k, err := leaf.GenerateAddressingKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutReviewer(&Reviewer{Fingerprint: fp, Card: []byte("card " + fp), AddressingKey: k.Bytes()}, [][]byte{[]byte("added " + fp)}); err != nil {
		t.Fatal(err)
	}
	return k
}

// Case entries are addressed to the case's reviewers (their tags), others are public; a new
// epoch re-logs every leaf after its record, addressed to the same reviewers under the new origin.
func TestLeavesAreAddressedAndEpochsRelogThem(t *testing.T) {
	s := openTest(t)
	a, b := addReviewer(t, s, "aaaa-bbbb"), addReviewer(t, s, "cccc-dddd")
	other := addReviewer(t, s, "eeee-ffff")
	c := createCase(t, s, 1, []byte("age-encryption.org/v1\nh\n"), []byte("data"))
	created := c.LogIndices[0]
	lf, err := s.LogLeaf(created)
	if err != nil {
		t.Fatal(err)
	}
	addressed := func(lf *leaf.Leaf, origin string, i int64, k *leaf.AddressingKey) bool {
		return lf.AddressedTo(k.Tag(origin, i))
	}
	if lf.Scope != leaf.Addressed || !addressed(lf, testOrigin, created, a) || !addressed(lf, testOrigin, created, b) ||
		addressed(lf, testOrigin, created, other) {
		t.Fatal("the case's leaf is not addressed to exactly its reviewers")
	}
	size, _ := s.LogSize()
	const next = "candor.invalid/store-test/epoch-2"
	if err := s.StartEpoch(next, []byte("epoch record")); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.LogSize(); n != size+1 {
		t.Fatalf("log of %d leaves after the epoch, want %d", n, size+1)
	}
	first, _ := s.LogLeaf(0)
	if first.Scope != leaf.Public || string(first.Rest) != "epoch record" {
		t.Fatalf("leaf 0 is %q, scope %d", first.Rest, first.Scope)
	}
	moved, _ := s.LogLeaf(created + 1)
	if string(moved.Rest) != "created" || !addressed(moved, next, created+1, a) || !addressed(moved, next, created+1, b) ||
		addressed(moved, next, created+1, other) || addressed(moved, testOrigin, created, a) {
		t.Fatal("the re-logged leaf is not addressed to the same reviewers under the new origin")
	}
	got, _ := s.Case(c.ID)
	if got.LogIndices[0] != created+1 {
		t.Fatalf("case log index %d, want %d", got.LogIndices[0], created+1)
	}
	if o, _ := s.LogOrigin(); o != next {
		t.Fatalf("origin %q", o)
	}
	if err := s.StartEpoch(next, []byte("x")); err == nil {
		t.Fatal("an epoch with the same origin was started")
	}
	if err := s.SetLogOrigin("candor.invalid/other/epoch-1"); err == nil {
		t.Fatal("the origin of a non-empty log changed")
	}
}
