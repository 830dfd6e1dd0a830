package cases

import (
	"sync"

	"candor/crypto"
)

// maxCachedCards bounds cardCache: more distinct cards than this (reviewers come and go over the
// years) empties it.
const maxCachedCards = 256

// cardCache keeps parsed reviewer cards by their text. Parsing a card (two hybrid keys and a
// self-signature) took 60 % of the CPU of GET / (docs/performance.md); keyed by the card's bytes,
// the cache can never serve a card that is no longer the one stored. The zero value is ready; it
// is safe for concurrent use, and the cards it returns are shared and read-only.
type cardCache struct {
	mu    sync.Mutex
	Cards map[string]*crypto.Card
}

// parse returns the parsed card for raw, parsing it on first use.
func (c *cardCache) parse(raw []byte) (*crypto.Card, error) {
	c.mu.Lock()
	card, ok := c.Cards[string(raw)]
	c.mu.Unlock()
	if ok {
		return card, nil
	}
	card, err := crypto.ParseCard(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Cards == nil || len(c.Cards) >= maxCachedCards {
		c.Cards = map[string]*crypto.Card{}
	}
	c.Cards[string(raw)] = card
	return card, nil
}
