package cases

import (
	"encoding/hex"
	"errors"
	"slices"

	"candor/internal/bundle"
	"candor/internal/envelope"
	"candor/server/store"
)

// teamPlan is what a bundle carries for team work (DESIGN §12) besides the cases.
type teamPlan struct {
	install   *bundle.Installation // the receipt KDF and the registered reviewers
	deletions []*bundle.Change     // signed early deletions of cases once sent to the reviewer
}

// touchNewCases marks every case of the reviewer that the reviewer was never sent as wholly
// touched, so that a reviewer a case was shared with gets all of its blobs (with their
// re-wrapped headers), whatever the bundle's since.
func (s *Service) touchNewCases(p *BundlePlan, touched map[store.CaseID]*touch) error {
	old, err := s.st.Meta(MetaSyncKnown + p.Reviewer.Fingerprint)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	known := map[store.CaseID]bool{}
	for i := 0; i+16 <= len(old); i += 16 {
		known[store.CaseID(old[i:i+16])] = true
	}
	for id, t := range touched {
		if !known[id] {
			t.all = true
		}
	}
	return nil
}

// collectInstallation plans the installation record and adds the card of every registered
// reviewer, so that an offline inbox can share a case with any of them or record an intake.
func (s *Service) collectInstallation(p *BundlePlan) error {
	rs, err := s.st.Reviewers()
	if err != nil {
		return err
	}
	inst := &bundle.Installation{Salt: s.keys.Salt, Memory: s.keys.KDF.Memory, Time: s.keys.KDF.Time,
		Threads: s.keys.KDF.Threads}
	have := map[string]bool{}
	for _, c := range p.Cards {
		have[string(c)] = true
	}
	for _, r := range rs {
		inst.Reviewers = append(inst.Reviewers, r.Fingerprint)
		if !have[string(r.Card)] {
			p.Cards = append(p.Cards, r.Card)
		}
	}
	slices.Sort(inst.Reviewers)
	p.team.install = inst
	return nil
}

// collectEarlyDeletions adds the signed delete envelope of each deleted case that has one.
func (s *Service) collectEarlyDeletions(p *BundlePlan, gone [][16]byte) error {
	slices.SortFunc(gone, func(a, b [16]byte) int { return slices.Compare(a[:], b[:]) })
	for _, id := range gone {
		raw, err := s.st.Meta(MetaEarlyDeletion + hex.EncodeToString(id[:]))
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted by retention or before signatures were kept
		}
		if err != nil {
			return err
		}
		e, err := envelope.Parse(raw)
		if err != nil {
			return err
		}
		p.team.deletions = append(p.team.deletions, &bundle.Change{Case: e.Case, Kind: bundle.ChangeDelete,
			Author: e.Reviewer, Seq: e.Seq, Day: e.Day, Body: e.Body, Sig: e.Sig})
	}
	return nil
}

// bundleChange is the bundle record of a signed change of case id.
func bundleChange(id store.CaseID, ch store.SignedChange) *bundle.Change {
	kind := map[string]bundle.ChangeKind{store.ChangeStatus: bundle.ChangeStatus, store.ChangeHold: bundle.ChangeHold,
		store.ChangeAssign: bundle.ChangeAssign, store.ChangeShare: bundle.ChangeShare}[ch.Kind]
	out := &bundle.Change{Case: id, Kind: kind, Author: ch.Author, Seq: ch.Seq, Day: ch.Day,
		Status: ch.Status, Hold: ch.Hold, Outcome: ch.Outcome, Target: ch.Target, Body: ch.Body, Sig: ch.Sig}
	copy(out.Commitment[:], ch.Commitment)
	return out
}

// signBlob adds to rec what rebuilds a signed reply's or note's envelope, and puts a share's
// re-wrapped header in force (the header the author signed travels as SignedHeader).
func signBlob(rec *bundle.Blob, m store.Message) {
	signed := rec.Kind == bundle.BlobReply || rec.Kind == bundle.BlobNote
	if sig := m.Signature; sig != nil && signed {
		rec.Seq, rec.SignedDay, rec.Sig, rec.Feedback = sig.Seq, sig.Day, sig.Sig, m.Feedback
	}
	if m.Rewrapped == "" {
		return
	}
	if signed && m.Signature != nil {
		rec.SignedHeader = rec.Header
	}
	rec.Header = []byte(m.Rewrapped)
}
