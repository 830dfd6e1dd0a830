package cases

import (
	"candor/crypto"
)

// Reviewer is a registered reviewer as the pages and uploads need it.
type Reviewer struct {
	Fingerprint, Name string
	Card              *crypto.Card
}

func (s *Service) Reviewers() ([]Reviewer, error) {
	rs, err := s.st.Reviewers()
	if err != nil {
		return nil, err
	}
	out := make([]Reviewer, 0, len(rs))
	for _, r := range rs {
		card, err := s.cards.parse(r.Card)
		if err != nil {
			s.log.Error("registered reviewer card does not parse", "err", err)
			continue
		}
		out = append(out, Reviewer{Fingerprint: r.Fingerprint, Name: card.Name(), Card: card})
	}
	return out, nil
}

// Card returns the card of reviewer fp, registered or removed since (store.ErrNotFound if fp was
// never registered): what verifies the replies, notes and changes they signed. Whether fp may act
// now is a question for the registered reviewers only (store.Reviewer).
func (s *Service) Card(fp string) (*crypto.Card, error) {
	b, err := s.card(fp)
	if err != nil {
		return nil, err
	}
	return s.cards.parse(b)
}
