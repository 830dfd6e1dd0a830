package cases

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime/debug"
	"slices"

	"candor/crypto"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/logentry"
	"candor/server/store"
)

// Errors of the sync API. Their text is what the reviewer's `candor sync` prints; none carries a
// token, a case ID or content.
var (
	// ErrUnauthorized: no bearer token, or one that matches no reviewer.
	ErrUnauthorized = errors.New("sync: unknown or missing token")
	// ErrReplay: an envelope's sequence number is not greater than the last one accepted.
	ErrReplay = errors.New("sync: envelope replayed (sequence number already used)")
	// ErrAlreadyPushed: every envelope's sequence number was accepted before — the outbox was
	// pushed already (a second push of the same file). Nothing is stored again.
	ErrAlreadyPushed = errors.New("sync: outbox already pushed (every envelope was accepted before)")
	// ErrForged: an envelope names another reviewer or its signature does not verify.
	ErrForged = errors.New("sync: envelope signature does not verify for this reviewer")
	// ErrNotOnCase: an envelope names a case that does not exist or does not list the reviewer.
	ErrNotOnCase = errors.New("sync: the reviewer is not on the envelope's case")
	// ErrBadOutbox: the outbox does not parse, exceeds the limits or holds an invalid envelope.
	ErrBadOutbox = errors.New("sync: malformed outbox")
)

// MaxOutboxEnvelopes bounds the envelopes of one push.
const MaxOutboxEnvelopes = 10000

// Push applies the outbox in src on behalf of reviewer fp and returns the number of envelopes
// accepted. The outbox is read as a stream and each envelope checked as it arrives — signed by fp's
// registered card (both halves), sequence numbers above the last accepted, cases that list fp — so
// the server holds one envelope in memory at a time: a reply's age file goes to a pending blob at
// once. Any refusal refuses the whole outbox. Once all are read, the sequence numbers are reserved
// (so a concurrent replay of the same outbox is refused) and every envelope applied in ONE store
// transaction: all of it is stored, or — if an envelope fails to apply or storage fails half-way,
// or the process dies — nothing is, and the staged blobs are aborted (or swept at the next start).
func (s *Service) Push(fp string, src io.Reader) (int, error) {
	or, err := envelope.NewOutboxReader(src, MaxOutboxEnvelopes, s.maxPush)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadOutbox, err)
	}
	p, err := s.newPush(fp)
	if err != nil {
		return 0, err
	}
	defer p.abort()
	if err := p.readAll(or); err != nil {
		return 0, err
	}
	if p.replays > 0 {
		// Every envelope was accepted before. Only a second push of the very outbox last
		// accepted is "already pushed"; anything else (an older outbox, envelopes numbered again
		// by an inbox restored from a backup) is a replay the reviewer must hear about.
		if p.replayed.Sum() == p.lastPush {
			return 0, ErrAlreadyPushed
		}
		return 0, ErrReplay
	}
	if len(p.staged) == 0 {
		return 0, nil
	}
	if err := p.commit(); err != nil {
		return 0, err
	}
	return len(p.staged), nil
}

// readAll checks every envelope of the outbox and stages those not accepted before.
func (p *push) readAll(or *envelope.OutboxReader) error {
	for {
		e, signed, err := or.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadOutbox, err)
		}
		err = p.check(e, signed)
		if errors.Is(err, errAccepted) {
			continue
		}
		if err != nil {
			return err
		}
		big := len(e.Body) > 1<<20
		if err := p.stage(e); err != nil {
			return err
		}
		if big {
			// The envelope's buffer (up to 64 MiB) and its verification's copy are garbage now:
			// return them to the OS before the next one arrives, as Derive does for Argon2id.
			debug.FreeOSMemory()
		}
	}
}

// commit applies the staged envelopes in one transaction, with the push's reservation, and
// compacts the store when one of them deleted a case early.
func (p *push) commit() error {
	s := p.s
	err := s.st.Atomic(func(tx *store.Tx) error {
		if err := reserve(tx, p.fp, p.staged); err != nil {
			return err
		}
		for _, st := range p.staged {
			if err := s.apply(tx, p.fp, st); err != nil {
				return fmt.Errorf("applying envelope %d: %w", st.e.Seq, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.committed = true
	s.notifyAppended()
	for _, st := range p.staged {
		if st.e.Kind == envelope.KindDelete {
			// An early deletion purges the case: no header of its blobs may survive in the file.
			if err := s.st.Compact(context.Background()); err != nil {
				s.log.Error("compacting after an early deletion", "err", err)
			}
			break
		}
	}
	return nil
}

// push is one outbox being read: the reviewer's card, the last sequence number seen, and the
// envelopes checked so far.
type push struct {
	s         *Service
	fp        string
	card      *crypto.Card
	last      uint64
	stored    uint64     // the last sequence number accepted before this push
	lastPush  [32]byte   // the digest of the last accepted push (store.Reviewer.LastPush)
	replays   int        // envelopes accepted before (a second push of an outbox)
	replayed  pushDigest // of those envelopes
	staged    []*staged
	committed bool
}

// staged is a checked envelope. The age file of a reply or a note, and an intake's transcript,
// are already in a pending blob (their bytes dropped from memory).
type staged struct {
	e      *envelope.Envelope
	blob   *store.BlobWriter
	id     store.BlobID
	header []byte
	intake *envelope.IntakeBody // KindIntake, without its transcript
}

func (s *Service) newPush(fp string) (*push, error) {
	r, err := s.st.Reviewer(fp)
	if err != nil {
		return nil, err
	}
	card, err := crypto.ParseCard(r.Card)
	if err != nil {
		return nil, err
	}
	return &push{s: s, fp: fp, card: card, last: r.Seq, stored: r.Seq, lastPush: r.LastPush}, nil
}

// pushDigest hashes the signatures of a push's envelopes in order (store.Reviewer.LastPush).
type pushDigest struct{ h hash.Hash }

// Add adds e's signature, length-prefixed.
func (d *pushDigest) Add(e *envelope.Envelope) {
	if d.h == nil {
		d.h = sha256.New()
		d.h.Write([]byte("candor/push-digest\n"))
	}
	d.h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(e.Sig))))
	d.h.Write(e.Sig)
}

// Sum returns the digest; zero for no envelope.
func (d *pushDigest) Sum() [32]byte {
	if d.h == nil {
		return [32]byte{}
	}
	return [32]byte(d.h.Sum(nil))
}

// errAccepted marks an envelope that the server accepted before (see check).
var errAccepted = errors.New("envelope accepted before")

// check verifies one envelope without storing anything.
func (p *push) check(e *envelope.Envelope, signed []byte) error {
	if e.Reviewer != p.fp || envelope.VerifySigned(e, signed, p.card.VerifyKey()) != nil {
		return ErrForged
	}
	if e.Seq <= p.stored {
		// Accepted before: fine only if every envelope of the outbox was (a second push of it),
		// in order; an outbox mixing old and new envelopes is a replay.
		if len(p.staged) > 0 || (p.replays > 0 && e.Seq <= p.last) {
			return ErrReplay
		}
		p.replays++
		p.last = e.Seq
		p.replayed.Add(e)
		return errAccepted
	}
	if p.replays > 0 || e.Seq <= p.last {
		return ErrReplay
	}
	p.last = e.Seq
	return p.s.checkEnvelope(p.fp, e)
}

// stage keeps a checked envelope; the age file of a reply or a note, and an intake's transcript,
// are written to a pending blob now, so that the push holds none of them in memory.
func (p *push) stage(e *envelope.Envelope) error {
	st := &staged{e: e}
	var file []byte
	switch e.Kind {
	case envelope.KindReply, envelope.KindNote:
		file = e.Body
	case envelope.KindIntake:
		ib, err := envelope.ParseIntakeBody(e.Body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadOutbox, err)
		}
		file, st.intake = ib.Transcript, ib
	}
	if file != nil {
		w, id, err := p.s.storeBlob(file)
		if err != nil {
			return fmt.Errorf("%w: not an age file", ErrBadOutbox)
		}
		header, _, _ := crypto.SplitHeader(bytes.NewReader(file))
		st.blob, st.id, st.header = w, id, header
		e.Body = nil
		if st.intake != nil {
			st.intake.Transcript = nil
		}
	}
	p.staged = append(p.staged, st)
	return nil
}

// abort removes the staged blobs unless the push was committed.
func (p *push) abort() {
	if p.committed {
		return
	}
	for _, st := range p.staged {
		if st.blob != nil {
			if err := st.blob.Abort(); err != nil {
				p.s.log.Error("aborting a pushed reply", "err", err)
			}
		}
	}
}

func (s *Service) checkEnvelope(fp string, e *envelope.Envelope) error {
	if e.Kind == envelope.KindAck {
		head, err := s.st.FeedHead()
		if err != nil {
			return err
		}
		size, err := s.st.LogSize()
		if err != nil {
			return err
		}
		if e.Cursor > head || int64(e.TreeSize) > size {
			return fmt.Errorf("%w: acknowledgement beyond the server's feed or log", ErrBadOutbox)
		}
		return nil
	}
	if e.Kind == envelope.KindIntake {
		return s.checkIntake(fp, e)
	}
	cs, err := s.st.Case(store.CaseID(e.Case))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !slices.Contains(cs.Reviewers, fp)) {
		return ErrNotOnCase
	}
	if err != nil {
		return err
	}
	if err := s.CheckRecipients(cs); err != nil {
		return err // the case's entries would be addressed by an altered record
	}
	if e.Kind == envelope.KindReply {
		if _, _, err := crypto.SplitHeader(bytes.NewReader(e.Body)); err != nil {
			return fmt.Errorf("%w: reply is not an age file", ErrBadOutbox)
		}
	}
	return s.checkTeam(fp, e, cs)
}

// reserve advances the reviewer's sequence number past the outbox (and its acknowledged cursor),
// refusing the outbox if another push used any of its numbers meanwhile.
func reserve(tx *store.Tx, fp string, envs []*staged) error {
	_, err := tx.UpdateReviewer(fp, func(r *store.Reviewer) error {
		if envs[0].e.Seq <= r.Seq {
			return ErrReplay
		}
		r.Seq = envs[len(envs)-1].e.Seq
		var d pushDigest
		for _, st := range envs {
			d.Add(st.e)
		}
		r.LastPush = d.Sum()
		for _, st := range envs {
			if e := st.e; e.Kind == envelope.KindAck && e.Cursor >= r.AckCursor {
				r.AckCursor, r.AckTreeSize = e.Cursor, int64(e.TreeSize)
			}
		}
		return nil
	}, nil)
	return err
}

// apply carries out one checked envelope with its log entries, inside the push's transaction.
func (s *Service) apply(tx *store.Tx, fp string, st *staged) error {
	e := st.e
	today := day.FromTime(s.now())
	id := store.CaseID(e.Case)
	entry := logentry.Entry{Day: today, Case: e.Case, Actor: fp}
	switch e.Kind {
	case envelope.KindReply:
		return storeSigned(tx, id, fp, st, today, store.KindReply)
	case envelope.KindStatus:
		entry.Type, entry.Value = logentry.StatusChanged, e.Status
		return updateCase(tx, id, &entry, func(c *store.Case) {
			if sign(c, fp, e) {
				setStatus(c, e.Status, today)
				c.Outcome = e.Outcome
			}
		}, outcomeEntry(e, today))
	case envelope.KindHold:
		entry.Type, entry.Value = logentry.HoldChanged, onOff(e.Hold)
		return updateCase(tx, id, &entry, func(c *store.Case) {
			if sign(c, fp, e) {
				setHold(c, fp, e.Hold)
			}
		})
	case envelope.KindAck:
		return nil // done by reserve
	}
	return applyTeam(tx, fp, st, today)
}

// outcomeEntry is the OutcomeRecorded entry that goes with a status envelope closing the case.
func outcomeEntry(e *envelope.Envelope, today day.Day) *logentry.Entry {
	if e.Outcome == "" {
		return nil
	}
	return &logentry.Entry{Type: logentry.OutcomeRecorded, Day: today, Case: e.Case, Actor: e.Reviewer, Value: e.Outcome}
}

// updateCase applies fn to the case with the log entries (nil ones are skipped), inside tx.
func updateCase(tx *store.Tx, id store.CaseID, e *logentry.Entry, fn func(*store.Case), more ...*logentry.Entry) error {
	var entries [][]byte
	for _, x := range append([]*logentry.Entry{e}, more...) {
		if x == nil {
			continue
		}
		b, err := x.Marshal()
		if err != nil {
			return err
		}
		entries = append(entries, b)
	}
	_, err := tx.UpdateCase(id, func(c *store.Case) error { fn(c); return nil }, entries)
	return err
}

// sign appends the signature of status or hold envelope e by fp to the case's signed changes, so
// that bundles carry it to every inbox (which derives the case's status and holds from the
// reviewers' signatures, not the server's word), and reports whether e takes effect under
// envelope.TakesEffect, the rule the inbox applies too ("the latest signed change wins"). A change
// signed on an earlier day but pushed later is kept but does not take effect.
func sign(c *store.Case, fp string, e *envelope.Envelope) bool {
	ch := store.SignedChange{Kind: store.ChangeStatus, Author: fp, Seq: e.Seq, Day: e.Day,
		Status: e.Status, Hold: e.Hold, Sig: bytes.Clone(e.Sig), Outcome: e.Outcome}
	if e.Kind == envelope.KindHold {
		ch.Kind = store.ChangeHold
	}
	applied := make([]envelope.Change, len(c.Signed))
	for i, o := range c.Signed {
		applied[i] = change(o)
	}
	c.Signed = append(c.Signed, ch)
	return envelope.TakesEffect(applied, change(ch))
}

// change is what envelope's "latest signed change wins" rule looks at in a stored signed change.
func change(s store.SignedChange) envelope.Change {
	k := envelope.KindStatus
	if s.Kind == store.ChangeHold {
		k = envelope.KindHold
	}
	return envelope.Change{Kind: k, Author: s.Author, Day: s.Day, Status: s.Status, Hold: s.Hold}
}

func setStatus(c *store.Case, status string, today day.Day) {
	c.Status = status
	if status != envelope.StatusReceived && c.Acknowledged == 0 {
		c.Acknowledged = today
	}
	c.Closed = 0
	if status == envelope.StatusClosed {
		c.Closed = today
	}
}

func setHold(c *store.Case, fp string, on bool) {
	c.Holds = slices.DeleteFunc(c.Holds, func(h string) bool { return h == fp })
	if on {
		c.Holds = append(c.Holds, fp)
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
