package candortest

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"candor/crypto"
)

// KDF are the cheapest receipt-derivation parameters the crypto package accepts, for in-process
// servers; child processes use the default.
var KDF = crypto.KDFParams{Memory: crypto.MinKDFMemory, Time: crypto.MinKDFTime, Threads: 1}

// Reviewer is a reviewer whose keys the test holds.
type Reviewer struct {
	Name string
	ID   *age.HybridIdentity
	Key  *crypto.SigningKey
	Card *crypto.Card
	FP   string // the card's fingerprint
}

// NewReviewer makes a reviewer called name with fresh keys and a signed card.
func NewReviewer(tb testing.TB, name string) Reviewer {
	tb.Helper()
	r, err := MakeReviewer(name)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// MakeReviewer is NewReviewer for callers without a testing.TB (testscript commands).
func MakeReviewer(name string) (Reviewer, error) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return Reviewer{}, err
	}
	sk, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		return Reviewer{}, err
	}
	card, err := crypto.NewCard(name, id.Recipient().String(), sk)
	if err != nil {
		return Reviewer{}, err
	}
	return Reviewer{Name: name, ID: id, Key: sk, Card: card, FP: card.Fingerprint()}, nil
}

// CardFile writes the reviewer's card to DIR/NAME.card (name lowercased, spaces as dashes) and
// returns the file's path, for `candor init --reviewer`.
func (r Reviewer) CardFile(tb testing.TB, dir string) string {
	tb.Helper()
	f := filepath.Join(dir, strings.ReplaceAll(strings.ToLower(r.Name), " ", "-")+".card")
	if err := os.WriteFile(f, r.Card.Marshal(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}
