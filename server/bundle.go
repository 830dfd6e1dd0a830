package server

import (
	"encoding/json"
	"errors"
	"io"
	"slices"

	"candor/internal/bundle"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

// Meta keys (per reviewer fingerprint) of the sync API's bookkeeping.
const (
	metaSyncKnown = "sync.known." // every case ID ever sent to the reviewer, 16 bytes each
	metaSyncSizes = "sync.sizes." // JSON list of the tree sizes of the last bundles sent
	maxSentSizes  = 16            // tree sizes remembered per reviewer
	blobCopyBuf   = 1 << 20       // copy buffer for blob payloads
	kindUnknown   = bundle.BlobKind(0)
)

// bundlePlan is what one bundle holds, decided before anything is written.
type bundlePlan struct {
	reviewer   *store.Reviewer
	since, end uint64
	cases      []*store.Case                    // the cases to describe, in ID order
	blobs      map[store.CaseID][]store.Message // the messages whose blobs go in, per case
	index      [][16]byte                       // every case the reviewer is on
	entries    []int64                          // log indices to include, increasing
	sizes      []int64                          // tree sizes to prove consistency from
	cards      [][]byte
	checkpoint *logentry.SignedCheckpoint
}

// planBundle collects what reviewer r may read of the feed after since: the cases r is on that
// changed, the blobs added to them, their log entries, every case r is on, the log entries of
// deletions of cases r was sent before, and consistency proofs from every tree size r
// acknowledged or was sent recently. Nothing of a case that does not list r is included.
func (s *Server) planBundle(r *store.Reviewer, since uint64) (*bundlePlan, error) {
	p := &bundlePlan{reviewer: r, since: since, blobs: map[store.CaseID][]store.Message{}}
	head, err := s.st.FeedHead()
	if err != nil {
		return nil, err
	}
	p.end = max(head, since)
	touched, err := s.touched(since, head)
	if err != nil {
		return nil, err
	}
	if err := s.collectCases(p, touched); err != nil {
		return nil, err
	}
	if err := s.collectDeletions(p); err != nil {
		return nil, err
	}
	if p.checkpoint, err = s.checkpoint(); err != nil {
		return nil, err
	}
	slices.Sort(p.entries)
	p.entries = slices.Compact(p.entries)
	return p, s.collectSizes(p)
}

// touch says what the feed slice asks for one case: everything, or some messages.
type touch struct {
	all   bool
	blobs map[store.BlobID]bool
}

func (s *Server) touched(since, head uint64) (map[store.CaseID]*touch, error) {
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

// collectCases fills the case index and, for touched cases, the cases, blobs and entries.
func (s *Server) collectCases(p *bundlePlan, touched map[store.CaseID]*touch) error {
	fp := p.reviewer.Fingerprint
	cardOf := map[string]bool{}
	err := s.st.Cases(func(c *store.Case) error {
		if !slices.Contains(c.Reviewers, fp) {
			return nil
		}
		p.index = append(p.index, c.ID)
		t := touched[c.ID]
		if t == nil {
			return nil
		}
		p.cases = append(p.cases, c)
		p.entries = append(p.entries, c.LogIndices...)
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
		rv, err := s.st.Reviewer(r)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed since; the inbox encrypts only to reviewers it has cards of
		}
		if err != nil {
			return err
		}
		p.cards = append(p.cards, rv.Card)
	}
	return nil
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

// collectDeletions adds the CaseDeleted entries of every case once sent to the reviewer that is no
// longer in the store, and remembers the cases sent now. A case that vanished without a logged
// deletion gets nothing: the inbox notices it missing from the case index.
func (s *Server) collectDeletions(p *bundlePlan) error {
	key := metaSyncKnown + p.reviewer.Fingerprint
	old, err := s.st.Meta(key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	known := map[[16]byte]bool{}
	for i := 0; i+16 <= len(old); i += 16 {
		known[[16]byte(old[i:i+16])] = true
	}
	current := map[[16]byte]bool{}
	for _, id := range p.index {
		current[id] = true
	}
	if _, err := s.trace([32]byte{}); err != nil { // brings the log index up to date
		return err
	}
	s.logIndex.mu.Lock()
	for id := range known {
		if i, ok := s.logIndex.deleted[id]; ok && !current[id] {
			p.entries = append(p.entries, i)
		}
	}
	s.logIndex.mu.Unlock()
	changed := false
	for _, id := range p.index {
		if !known[id] {
			old, changed = append(old, id[:]...), true
		}
	}
	if changed {
		return s.st.PutMeta(key, old)
	}
	return nil
}

// collectSizes picks the tree sizes to prove consistency from: the acknowledged one and those of
// recent bundles, and remembers this bundle's.
func (s *Server) collectSizes(p *bundlePlan) error {
	key := metaSyncSizes + p.reviewer.Fingerprint
	var sent []int64
	if b, err := s.st.Meta(key); err == nil {
		_ = json.Unmarshal(b, &sent) // a damaged list only costs proofs
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for _, n := range append(slices.Clone(sent), p.reviewer.AckTreeSize) {
		if n > 0 && n <= p.checkpoint.Size {
			p.sizes = append(p.sizes, n)
		}
	}
	slices.Sort(p.sizes)
	p.sizes = slices.Compact(p.sizes)
	if !slices.Contains(sent, p.checkpoint.Size) {
		sent = append(sent, p.checkpoint.Size)
	}
	if len(sent) > maxSentSizes {
		sent = sent[len(sent)-maxSentSizes:]
	}
	b, _ := json.Marshal(sent)
	return s.st.PutMeta(key, b)
}

// writeBundle writes and signs the planned bundle to w.
func (s *Server) writeBundle(w io.Writer, p *bundlePlan) error {
	bw := bundle.NewWriter(w)
	cp := p.checkpoint
	err := bw.Header(&bundle.Header{ServerKey: s.keys.signer.Public().Bytes(), ServerOrigin: cp.Origin,
		Reviewer: p.reviewer.Fingerprint, Since: p.since, Until: p.end, Day: day.FromTime(s.now())})
	if err == nil {
		err = bw.Checkpoint(cp)
	}
	for _, n := range p.sizes {
		if err == nil {
			err = s.writeConsistency(bw, cp.Size, n)
		}
	}
	for _, i := range p.entries {
		if err == nil {
			err = s.writeEntry(bw, cp.Size, i)
		}
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
	for _, card := range p.cards {
		if err == nil {
			err = bw.Card(&bundle.Card{Text: card})
		}
	}
	if err == nil {
		err = bw.CaseIndex(&bundle.CaseIndex{Cases: p.index})
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
	return bw.Close(s.keys.signer)
}

func (s *Server) writeConsistency(bw *bundle.Writer, size, from int64) error {
	proof, err := s.st.ProveTree(size, from)
	if err != nil {
		return err
	}
	return bw.Consistency(&bundle.Consistency{FromSize: from, Proof: proof})
}

func (s *Server) writeEntry(bw *bundle.Writer, size, i int64) error {
	b, err := s.st.LogEntry(i)
	if err != nil {
		return err
	}
	proof, err := s.st.ProveRecord(size, i)
	if err != nil {
		return err
	}
	return bw.LogEntry(&bundle.LogEntry{Index: i, Entry: b, Proof: proof})
}

func bundleCase(c *store.Case) *bundle.Case {
	ack, feedback := deadlines(c.Received, c.Acknowledged)
	var created int64
	if len(c.LogIndices) > 0 {
		created = c.LogIndices[0]
	}
	return &bundle.Case{ID: c.ID, Category: c.Category, Received: c.Received, AckDue: ack,
		FeedbackDue: feedback, Closed: c.Closed, Status: c.Status, Reviewers: c.Reviewers,
		ReporterRecipient: c.ReporterRecipient, Holds: c.Holds, LogIndex: created}
}

// bundleChange is the bundle record of a signed status change or hold of case id.
func bundleChange(id store.CaseID, ch store.SignedChange) *bundle.Change {
	kind := bundle.ChangeStatus
	if ch.Kind == store.ChangeHold {
		kind = bundle.ChangeHold
	}
	return &bundle.Change{Case: id, Kind: kind, Author: ch.Author, Seq: ch.Seq, Day: ch.Day,
		Status: ch.Status, Hold: ch.Hold, Sig: ch.Sig}
}

func blobKind(kind string) bundle.BlobKind {
	switch kind {
	case store.KindReport:
		return bundle.BlobReport
	case store.KindFollowup:
		return bundle.BlobFollowUp
	case store.KindReply:
		return bundle.BlobReply
	}
	return kindUnknown
}

func (s *Server) writeBlob(bw *bundle.Writer, id store.CaseID, m store.Message) error {
	b, err := s.st.OpenBlob(m.Blob)
	if err != nil {
		return err
	}
	rec := &bundle.Blob{Case: id, ID: m.Blob, Kind: blobKind(m.Kind), Author: m.Author,
		Day: m.Day, Header: b.Header, Size: b.Size}
	if sig := m.Signature; sig != nil && rec.Kind == bundle.BlobReply {
		rec.Seq, rec.SignedDay, rec.Sig = sig.Seq, sig.Day, sig.Sig
	}
	pw, err := bw.Blob(rec)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(pw, b, make([]byte, blobCopyBuf))
	return err
}
