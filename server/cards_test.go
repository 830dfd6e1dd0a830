package server

import (
	"bytes"
	"testing"
)

// TestCardCache checks that the cache returns the card stored under the exact bytes, parses each
// text once, and refuses what does not parse.
func TestCardCache(t *testing.T) {
	a, b := newTestReviewer(t, "Reviewer A"), newTestReviewer(t, "Reviewer B")
	var c cardCache
	for _, r := range []testReviewer{a, b, a} {
		got, err := c.parse(r.card.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if got.Fingerprint() != r.fp {
			t.Errorf("got the card of %s, want %s", got.Fingerprint(), r.fp)
		}
	}
	if len(c.cards) != 2 {
		t.Errorf("%d cards cached, want 2", len(c.cards))
	}
	first, _ := c.parse(a.card.Marshal())
	again, _ := c.parse(bytes.Clone(a.card.Marshal()))
	if first != again {
		t.Errorf("the same card text was parsed twice")
	}
	if _, err := c.parse([]byte("not a card")); err == nil {
		t.Errorf("parse of garbage succeeded")
	}
}
