package cases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"candor/crypto"
	"candor/installation"
	"candor/internal/bundle"
	"candor/internal/checkpoint"
	"candor/internal/day"
	"candor/internal/leaf"
	"candor/server/store"
)

const (
	// MetaSyncKnown (per reviewer fingerprint) lists every case ID ever sent to the reviewer, 16
	// bytes each: a case new to the reviewer (shared with them) is sent whole, and the signed early
	// deletion of a case once sent is sent after the case is gone.
	MetaSyncKnown = "sync.known."
	blobCopyBuf   = 1 << 20 // copy buffer for blob payloads
	kindUnknown   = bundle.BlobKind(0)
	// planTries is how often PlanBundle plans again when the log grew while it planned.
	planTries = 8
)

// BundlePlan is what one bundle holds, decided before anything is written: a consistent view
// of the log (its leaves up to the checkpoint) and of the cases.
type BundlePlan struct {
	Reviewer   *store.Reviewer
	since, end uint64
	cases      []*store.Case                    // the cases to describe, in ID order
	blobs      map[store.CaseID][]store.Message // the messages whose blobs go in, per case
	Index      [][16]byte                       // every case the reviewer is on
	Cards      [][]byte
	Note       []byte                 // the checkpoint note (cosigned by the witnesses that answered)
	Checkpoint *checkpoint.Checkpoint // its parsed text
	leaves     *bundle.LeafList
	alarms     []installation.Alarm
	known      []byte // the reviewer's sync.known list with this bundle's cases; nil: unchanged
	team       teamPlan
}

// PlanBundle collects what reviewer r may read: every leaf of the case log from the tree the
// reviewer acknowledged (its AckTreeSize when since is its acknowledged cursor, else from 0) to
// the checkpoint, those addressed to r in full and the others as their heads; the cases r is on
// that changed in the feed after since (and every case new to r, whole), with the blobs added to
// them; every case r is on (the case index); the cards the inbox needs, the installation record
// and the signed early deletions of cases once sent to r (team work); and the witnesses' alarms. Nothing of a case that does
// not list r is included but the heads of its leaves. Before planning it asks the witnesses to
// cosign the current checkpoint (SetCosigner). The plan is a consistent snapshot: if the log
// grows while it plans, it plans again. It only reads: what the bundle sends is recorded by
// recordSent once the bundle is written.
func (s *Service) PlanBundle(r *store.Reviewer, since uint64) (*BundlePlan, error) {
	if f := s.cosign.Load(); f != nil {
		ctx, cancel := context.WithTimeout(context.Background(), cosignWait)
		(*f)(ctx)
		cancel()
	}
	for range planTries {
		size, err := s.st.LogSize()
		if err != nil {
			return nil, err
		}
		p, err := s.plan(r, since)
		if err != nil {
			return nil, err
		}
		if after, err := s.st.LogSize(); err != nil || after != size {
			continue // a case changed meanwhile: its leaves and its record may disagree
		}
		return p, s.planLog(p, r, since, size)
	}
	return nil, ErrLogBusy
}

// cosignWait bounds how long PlanBundle waits for the witnesses.
const cosignWait = 20 * time.Second

// SetCosigner sets the function PlanBundle calls to have the current checkpoint cosigned (the
// admin's witness client); it must return within its context's deadline.
func (s *Service) SetCosigner(f func(context.Context)) { s.cosign.Store(&f) }

func (s *Service) plan(r *store.Reviewer, since uint64) (*BundlePlan, error) {
	p := &BundlePlan{Reviewer: r, since: since, blobs: map[store.CaseID][]store.Message{}}
	head, err := s.st.FeedHead()
	if err != nil {
		return nil, err
	}
	p.end = max(head, since)
	touched, err := s.touched(since, head)
	if err != nil {
		return nil, err
	}
	if err := s.touchNewCases(p, touched); err != nil {
		return nil, err
	}
	if err := s.collectCases(p, touched); err != nil {
		return nil, err
	}
	if err := s.collectInstallation(p); err != nil {
		return nil, err
	}
	return p, s.collectDeletions(p)
}

// planLog adds the checkpoint of the tree of size n, its leaves from the reviewer's tree and the
// witnesses' alarms.
func (s *Service) planLog(p *BundlePlan, r *store.Reviewer, since uint64, n int64) error {
	note, cp, err := s.NoteAt(n)
	if err != nil {
		return err
	}
	p.Note, p.Checkpoint = note, cp
	start := int64(0)
	if since == r.AckCursor && r.AckTreeSize <= n {
		start = r.AckTreeSize
	}
	leaves, frontier, err := s.st.LogLeaves(start, n)
	if err != nil {
		return err
	}
	key, err := leaf.NewAddressingKey(r.AddressingKey)
	if err != nil {
		return fmt.Errorf("reviewer %s has no addressing key: %w", r.Fingerprint, err)
	}
	p.leaves = &bundle.LeafList{List: *leaf.Select(cp.Origin, start, frontier, leaves, key)}
	ws, err := installation.LoadWitnessState(s.st, cp.Origin)
	if err != nil {
		return err
	}
	p.alarms = ws.Alarms
	return nil
}

// touch says what the feed slice asks for one case: everything, or some messages.
type touch struct {
	all   bool
	blobs map[store.BlobID]bool
}

func (s *Service) touched(since, head uint64) (map[store.CaseID]*touch, error) {
	out := map[store.CaseID]*touch{}
	err := s.st.Feed(since, func(it store.FeedItem) error {
		if it.Seq > head {
			return errStopFeed
		}
		t := out[it.Case]
		if t == nil {
			t = &touch{blobs: map[store.BlobID]bool{}}
			out[it.Case] = t
		}
		switch it.Kind {
		case store.FeedCase:
			t.all = true
		case store.FeedMessage:
			t.blobs[it.Blob] = true
		}
		return nil
	})
	if errors.Is(err, errStopFeed) {
		err = nil
	}
	return out, err
}

var errStopFeed = errors.New("stop")

// collectCases fills the case index and, for touched cases, the cases and blobs.
func (s *Service) collectCases(p *BundlePlan, touched map[store.CaseID]*touch) error {
	fp := p.Reviewer.Fingerprint
	cardOf := map[string]bool{}
	err := s.st.Cases(func(c *store.Case) error {
		if !slices.Contains(c.Reviewers, fp) {
			return nil
		}
		p.Index = append(p.Index, c.ID)
		t := touched[c.ID]
		if t == nil {
			return nil
		}
		p.cases = append(p.cases, c)
		for _, m := range c.Messages {
			if t.all || t.blobs[m.Blob] {
				p.blobs[c.ID] = append(p.blobs[c.ID], m)
				if m.Kind == store.KindReply {
					cardOf[m.Author] = true // the inbox verifies the reply with its author's card
				}
			}
		}
		for _, r := range c.Reviewers {
			cardOf[r] = true
		}
		for _, ch := range c.Signed {
			cardOf[ch.Author] = true // the inbox verifies the change with its author's card
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range slices.Sorted(mapKeys(cardOf)) {
		card, err := s.card(r)
		if errors.Is(err, store.ErrNotFound) {
			continue // a malformed author; the inbox refuses what it cannot verify
		}
		if err != nil {
			return err
		}
		p.Cards = append(p.Cards, card)
	}
	return nil
}

// card returns the card of reviewer fp, registered or removed: a removed reviewer's card stays
// available so that every inbox — also one pulling from the start — verifies what they signed.
// The inbox encrypts only to the reviewers the installation record lists as registered.
func (s *Service) card(fp string) ([]byte, error) {
	rv, err := s.st.Reviewer(fp)
	if errors.Is(err, store.ErrNotFound) {
		return s.st.FormerCard(fp)
	}
	if err != nil {
		return nil, err
	}
	return rv.Card, nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// collectDeletions adds the signed early deletion of every case once sent to the reviewer that is
// no longer in the store (its CaseDeleted entry is in the leaf list, addressed to the case's
// reviewers), and plans to remember the cases sent now (p.known). A case that vanished without a
// logged deletion gets nothing: the inbox notices it missing from the case index.
func (s *Service) collectDeletions(p *BundlePlan) error {
	key := MetaSyncKnown + p.Reviewer.Fingerprint
	old, err := s.st.Meta(key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	known := map[[16]byte]bool{}
	for i := 0; i+16 <= len(old); i += 16 {
		known[[16]byte(old[i:i+16])] = true
	}
	current := map[[16]byte]bool{}
	for _, id := range p.Index {
		current[id] = true
	}
	if _, err := s.Trace([32]byte{}); err != nil { // brings the log index up to date
		return err
	}
	s.logIndex.mu.Lock()
	var gone [][16]byte
	for id := range known {
		if _, ok := s.logIndex.Deleted[id]; ok && !current[id] {
			gone = append(gone, id)
		}
	}
	s.logIndex.mu.Unlock()
	if err := s.collectEarlyDeletions(p, gone); err != nil {
		return err
	}
	var added []byte
	for _, id := range p.Index {
		if !known[id] {
			added = append(added, id[:]...)
		}
	}
	if len(added) > 0 {
		p.known = append(bytes.Clone(old), added...)
	}
	return nil
}

// recordSent remembers, after bundle p was written, the cases it sent to its reviewer: the one
// place the sync bookkeeping is written.
func (s *Service) recordSent(p *BundlePlan) error {
	if p.known == nil {
		return nil
	}
	return s.st.PutMeta(MetaSyncKnown+p.Reviewer.Fingerprint, p.known)
}

// SendBundle writes the planned bundle to w and then records what it sent.
func (s *Service) SendBundle(w io.Writer, p *BundlePlan) error {
	if err := s.writeBundle(w, p); err != nil {
		return err
	}
	if err := s.recordSent(p); err != nil {
		s.log.Error("recording the bundle sent", "err", err)
		return err
	}
	return nil
}

// writeBundle writes and signs the planned bundle to w.
func (s *Service) writeBundle(w io.Writer, p *BundlePlan) error {
	bw := bundle.NewWriter(w)
	err := bw.Header(&bundle.Header{ServerKey: s.keys.Signer.Public().Bytes(), ServerOrigin: p.Checkpoint.Origin,
		Reviewer: p.Reviewer.Fingerprint, Since: p.since, Until: p.end, Day: day.FromTime(s.now())})
	if err == nil {
		err = bw.Checkpoint(p.Note)
	}
	for _, a := range p.alarms {
		if err == nil {
			err = bw.Alarm(bundleAlarm(a))
		}
	}
	if err == nil {
		err = s.writeSealedKey(bw, p.Reviewer)
	}
	if err == nil {
		err = bw.LeafList(p.leaves)
	}
	for _, c := range p.cases {
		if err == nil {
			err = bw.Case(bundleCase(c))
		}
	}
	for _, c := range p.cases {
		for _, ch := range c.Signed {
			if err == nil {
				err = bw.Change(bundleChange(c.ID, ch))
			}
		}
	}
	for _, ch := range p.team.deletions {
		if err == nil {
			err = bw.Change(ch)
		}
	}
	for _, card := range p.Cards {
		if err == nil {
			err = bw.Card(&bundle.Card{Text: card})
		}
	}
	if err == nil {
		err = bw.CaseIndex(&bundle.CaseIndex{Cases: p.Index})
	}
	if err == nil && p.team.install != nil {
		err = bw.Installation(p.team.install)
	}
	for _, c := range p.cases {
		for _, m := range p.blobs[c.ID] {
			if err == nil {
				err = s.writeBlob(bw, c.ID, m)
			}
		}
	}
	if err != nil {
		return err
	}
	return bw.Close(s.keys.Signer)
}

// writeSealedKey writes the reviewer's addressing key sealed to their card's age recipient.
func (s *Service) writeSealedKey(bw *bundle.Writer, r *store.Reviewer) error {
	card, err := crypto.ParseCard(r.Card)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, card.Recipient())
	if err != nil {
		return err
	}
	if _, err := w.Write(r.AddressingKey); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return bw.SealedKey(&bundle.SealedKey{Age: buf.Bytes()})
}

// bundleAlarm is the bundle record of a witness's refusal.
func bundleAlarm(a installation.Alarm) *bundle.Alarm {
	kind := bundle.AlarmRollback
	if a.Kind == installation.AlarmFork {
		kind = bundle.AlarmFork
	}
	text := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, fmt.Sprintf("witness %s on %s: %s", a.Witness, a.Day, a.Text))
	return &bundle.Alarm{Kind: kind, Text: text[:min(len(text), bundle.MaxAlarmLen)]}
}

func bundleCase(c *store.Case) *bundle.Case {
	ack, feedback := installation.DueDates(c.Received, c.Acknowledged)
	var created int64
	if len(c.LogIndices) > 0 {
		created = c.LogIndices[0]
	}
	return &bundle.Case{ID: c.ID, Category: c.Category, Received: c.Received, AckDue: ack,
		FeedbackDue: feedback, Closed: c.Closed, Status: c.Status, Reviewers: c.Reviewers,
		ReporterRecipient: c.ReporterRecipient, Holds: c.Holds, LogIndex: created, Salt: c.Salt}
}

func blobKind(kind string) bundle.BlobKind {
	switch kind {
	case store.KindReport:
		return bundle.BlobReport
	case store.KindFollowup:
		return bundle.BlobFollowUp
	case store.KindReply:
		return bundle.BlobReply
	case store.KindNote:
		return bundle.BlobNote
	}
	return kindUnknown
}

func (s *Service) writeBlob(bw *bundle.Writer, id store.CaseID, m store.Message) error {
	b, err := s.st.OpenBlob(m.Blob)
	if err != nil {
		return err
	}
	rec := &bundle.Blob{Case: id, ID: m.Blob, Kind: blobKind(m.Kind), Author: m.Author,
		Day: m.Day, Header: b.Header, Size: b.Size}
	signBlob(rec, m)
	pw, err := bw.Blob(rec)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(pw, b, make([]byte, blobCopyBuf))
	return err
}
