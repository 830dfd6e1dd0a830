package inbox

import (
	"encoding/hex"
	"fmt"
	"slices"

	"candor/crypto"
	"candor/internal/bundle"
	"candor/internal/envelope"
)

// checkChanges verifies every signed status change and hold in the bundle with its author's card
// (as checkReplies does for replies), then derives each case's status and holds from the verified
// changes alone and refuses the import with ErrForged if the case record the server wrote claims
// anything else. The changes of a case come in the order the server applied them; the latest is
// the one of the latest day (the reviewer's signed day), and among changes of one day the one
// applied last. The status is that of the latest status change, "received" if there is none; a
// reviewer holds the case if their latest hold change placed the hold. The server applies a
// reviewer's envelopes in sequence order, so one author's changes out of that order (or one
// replayed) are refused too. So the server can neither invent a reviewer's status change or hold
// nor drop a hold without a reviewer's signed release; it can only withhold changes (the case then
// shows what the remaining signatures say) or order genuine changes of one day.
func (in *Inbox) checkChanges(p *parsed) error {
	var cards map[string]*crypto.Card
	if len(p.changes) > 0 {
		var err error
		if cards, err = in.knownCards(p); err != nil {
			return err
		}
	}
	byCase := map[[16]byte][]*bundle.Change{}
	lastSeq := map[[16]byte]map[string]uint64{}
	for _, c := range p.changes {
		if err := checkChange(c, cards[c.Author]); err != nil {
			return err
		}
		if lastSeq[c.Case] == nil {
			lastSeq[c.Case] = map[string]uint64{}
		}
		if prev, ok := lastSeq[c.Case][c.Author]; ok && c.Seq <= prev {
			return fmt.Errorf("%w: %s change in case %s, author %s: sequence number %d after %d "+
				"(reordered or replayed; nothing imported)", ErrForged, changeName(c.Kind),
				hex.EncodeToString(c.Case[:]), c.Author, c.Seq, prev)
		}
		lastSeq[c.Case][c.Author] = c.Seq
		byCase[c.Case] = append(byCase[c.Case], c)
	}
	for _, c := range p.cases {
		status, holds := derive(byCase[c.ID])
		where := "case " + hex.EncodeToString(c.ID[:])
		if c.Status != status {
			return fmt.Errorf("%w: %s: the server claims status %q, the reviewers' signed changes say %q "+
				"(nothing imported)", ErrForged, where, c.Status, status)
		}
		if !sameSet(c.Holds, holds) {
			return fmt.Errorf("%w: %s: the server claims holds %v, the reviewers' signed holds are %v "+
				"(nothing imported)", ErrForged, where, c.Holds, holds)
		}
	}
	return nil
}

// checkChange verifies one signed change with its author's card (nil if the inbox has none).
func checkChange(c *bundle.Change, card *crypto.Card) error {
	where := fmt.Sprintf("%s change in case %s, claimed author %s", changeName(c.Kind),
		hex.EncodeToString(c.Case[:]), c.Author)
	if card == nil {
		return fmt.Errorf("%w: %s: no card with that fingerprint, so its signature cannot be "+
			"checked (nothing imported)", ErrForged, where)
	}
	if err := envelope.Verify(c.Envelope(), card.VerifyKey()); err != nil {
		return fmt.Errorf("%w: %s: the signature does not verify with that reviewer's card "+
			"(nothing imported): %w", ErrForged, where, err)
	}
	return nil
}

func changeName(k bundle.ChangeKind) string { return envelope.Kind(k).String() }

// derive returns the status and the holders (sorted) that the verified changes of one case, in the
// order the server applied them, leave in effect ("the latest signed change wins",
// envelope.Resolve: the server applies the same rule with envelope.TakesEffect).
func derive(changes []*bundle.Change) (string, []string) {
	cs := make([]envelope.Change, len(changes))
	for i, c := range changes {
		cs[i] = envelope.Change{Kind: envelope.Kind(c.Kind), Author: c.Author, Day: c.Day, Status: c.Status, Hold: c.Hold}
	}
	return envelope.Resolve(cs)
}

// sameSet reports whether a and b hold the same strings, ignoring order and repetition.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
