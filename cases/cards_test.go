package cases

import (
	"bytes"
	"candor/crypto"
	"crypto/rand"
	"testing"

	"filippo.io/age"
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
	if len(c.Cards) != 2 {
		t.Errorf("%d cards cached, want 2", len(c.Cards))
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

type testReviewer struct {
	card *crypto.Card
	fp   string
}

func newTestReviewer(t testing.TB, name string) testReviewer {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	card, err := crypto.NewCard(name, id.Recipient().String(), sk)
	if err != nil {
		t.Fatal(err)
	}
	return testReviewer{card: card, fp: card.Fingerprint()}
}
