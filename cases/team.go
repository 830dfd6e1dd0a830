package cases

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/age"

	"candor/crypto"
	"candor/frontend"
	"candor/installation"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/leaf"
	"candor/internal/logentry"
	"candor/server/store"
)

// Refusals of team envelopes at push (DESIGN §12); like the other sync errors their text is fixed.
var (
	// ErrNotReviewer: an assignment to someone not on the case, a share with a removed or unknown
	// reviewer (or one already on the case), or an intake naming an unregistered reviewer.
	ErrNotReviewer = errors.New("sync: the named reviewer is not a (registered) reviewer of the case")
	// ErrHeldCase: an early deletion of a case that a reviewer holds.
	ErrHeldCase = errors.New("sync: the case is on hold: every hold must be lifted before an early deletion")
	// ErrCaseExists: an intake whose case ID or receipt is already taken.
	ErrCaseExists = errors.New("sync: an intake names a case that exists already")
)

// MetaEarlyDeletion (+ the case ID in hex) keeps the signed delete envelope of an early deletion,
// so that bundles can carry the reviewer's signature with the logged deletion.
const MetaEarlyDeletion = "team.deleted."

// checkTeam checks a team envelope of fp against the case cs (nil for an intake) beyond its
// signature and sequence number.
func (s *Service) checkTeam(fp string, e *envelope.Envelope, cs *store.Case) error {
	switch e.Kind {
	case envelope.KindNote:
		return checkNote(e, cs)
	case envelope.KindAssign:
		if e.Target != "" && !slices.Contains(cs.Reviewers, e.Target) {
			return ErrNotReviewer
		}
	case envelope.KindShare:
		return s.checkShare(e, cs)
	case envelope.KindDelete:
		if len(cs.Holds) > 0 {
			return ErrHeldCase
		}
	}
	return nil
}

// checkNote refuses a note whose age header has a stanza count other than the number of the
// case's reviewers: a note is sealed to the reviewers only, so one more stanza (the reporter's)
// cannot be there. Stanzas are anonymous, so this is the check the server can make; the reporter's
// pages never offer a note at all.
func checkNote(e *envelope.Envelope, cs *store.Case) error {
	header, _, err := crypto.SplitHeader(bytes.NewReader(e.Body))
	if err != nil {
		return fmt.Errorf("%w: a note is not an age file", ErrBadOutbox)
	}
	if n := bytes.Count(header, []byte("\n-> ")); n != len(cs.Reviewers) {
		return fmt.Errorf("%w: a note must be sealed to the case's reviewers only", ErrBadOutbox)
	}
	return nil
}

// checkShare checks that the new reviewer is registered and not on the case yet, that the share
// lists a new header for exactly the case's blobs, and that its commitment is the new recipient
// set's under the salt it carries.
func (s *Service) checkShare(e *envelope.Envelope, cs *store.Case) error {
	if slices.Contains(cs.Reviewers, e.Target) {
		return ErrNotReviewer
	}
	if _, err := s.st.Reviewer(e.Target); errors.Is(err, store.ErrNotFound) {
		return ErrNotReviewer
	} else if err != nil {
		return err
	}
	sb, err := envelope.ParseShareBody(e.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadOutbox, err)
	}
	want := make([]store.BlobID, len(cs.Messages))
	for i, m := range cs.Messages {
		want[i] = m.Blob
	}
	slices.SortFunc(want, func(a, b store.BlobID) int { return bytes.Compare(a[:], b[:]) })
	got := make([]store.BlobID, len(sb.Blobs))
	for i, r := range sb.Blobs {
		got[i] = store.BlobID(r.Blob)
		if _, _, err := crypto.SplitHeader(bytes.NewReader(r.Header)); err != nil {
			return fmt.Errorf("%w: a shared header is not an age header", ErrBadOutbox)
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%w: a share must re-wrap exactly the case's blobs", ErrBadOutbox)
	}
	set := leaf.RecipientSet{Reporter: cs.ReporterRecipient, Reviewers: append(slices.Clone(cs.Reviewers), e.Target)}
	if set.Check(&sb.Salt, e.Commitment) != nil {
		return fmt.Errorf("%w: the share's commitment does not match the case's new recipients", ErrBadOutbox)
	}
	return nil
}

// checkIntake checks an intake envelope: a new case ID, the author among the case's reviewers,
// every reviewer registered, a known category, and the commitment to the recipient set.
func (s *Service) checkIntake(fp string, e *envelope.Envelope) error {
	ib, err := envelope.ParseIntakeBody(e.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadOutbox, err)
	}
	if _, err := s.st.Case(store.CaseID(e.Case)); err == nil {
		return ErrCaseExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, err := s.st.CaseByLookup(ib.Lookup); err == nil {
		return ErrCaseExists
	}
	if !slices.Contains(ib.Reviewers, fp) {
		return ErrNotReviewer
	}
	for _, r := range ib.Reviewers {
		if _, err := s.st.Reviewer(r); err != nil {
			return ErrNotReviewer
		}
	}
	if _, ok := s.CurrentSettings().Category(intakeCategory(ib)); !ok {
		return fmt.Errorf("%w: unknown category", ErrBadOutbox)
	}
	set := leaf.RecipientSet{Reporter: ib.Reporter, Reviewers: ib.Reviewers}
	if set.Check(&ib.Salt, e.Commitment) != nil {
		return fmt.Errorf("%w: the intake's commitment does not match its recipients", ErrBadOutbox)
	}
	return nil
}

func intakeCategory(ib *envelope.IntakeBody) string {
	if ib.Category == "" {
		return installation.DefaultCategory
	}
	return ib.Category
}

// applyTeam carries out one checked team envelope with its log entries, inside the push's
// transaction.
func applyTeam(tx *store.Tx, fp string, st *staged, today day.Day) error {
	e := st.e
	id := store.CaseID(e.Case)
	entry := logentry.Entry{Day: today, Case: e.Case, Actor: fp}
	switch e.Kind {
	case envelope.KindNote:
		return storeSigned(tx, id, fp, st, today, store.KindNote)
	case envelope.KindAssign:
		entry.Type, entry.Value = logentry.Assigned, e.Target
		if e.Target == "" {
			entry.Value = logentry.ValueNone
		}
		return updateCase(tx, id, &entry, func(c *store.Case) {
			if signTeam(c, fp, e) {
				c.Assignee = e.Target
			}
		})
	case envelope.KindShare:
		return applyShare(tx, id, fp, e, &entry)
	case envelope.KindDelete:
		return deleteEarly(tx, id, e, &entry)
	case envelope.KindIntake:
		return createIntake(tx, fp, st, today)
	}
	return fmt.Errorf("applying a %v envelope: not a team envelope", e.Kind)
}

// signTeam appends team envelope e of fp to the case's signed changes and reports whether it
// takes effect ("the latest signed change wins": assignments compete like status changes).
func signTeam(c *store.Case, fp string, e *envelope.Envelope) bool {
	ch := store.SignedChange{Kind: store.ChangeAssign, Author: fp, Seq: e.Seq, Day: e.Day, Target: e.Target,
		Sig: bytes.Clone(e.Sig)}
	if e.Kind == envelope.KindShare {
		ch.Kind, ch.Commitment, ch.Body = store.ChangeShare, bytes.Clone(e.Commitment[:]), bytes.Clone(e.Body)
	}
	latest := true
	for _, o := range c.Signed {
		if o.Kind == ch.Kind && o.Day > ch.Day {
			latest = false
		}
	}
	c.Signed = append(c.Signed, ch)
	return latest
}

// applyShare adds the reviewer to the case, puts the re-wrapped headers in force and logs the new
// recipient-set commitment (CaseShared: Subject the commitment, Value the new reviewer).
func applyShare(tx *store.Tx, id store.CaseID, fp string, e *envelope.Envelope, entry *logentry.Entry) error {
	sb, err := envelope.ParseShareBody(e.Body)
	if err != nil {
		return err
	}
	headers := map[store.BlobID]string{}
	for _, r := range sb.Blobs {
		headers[store.BlobID(r.Blob)] = string(r.Header)
	}
	cs, err := tx.Case(id)
	if err != nil {
		return err
	}
	// The new commitment must be the case's committed set with the new reviewer, under the salt
	// the share carries: the one rule (logentry.Commitment) then puts it in force.
	set := leaf.RecipientSet{Reporter: cs.ReporterRecipient, Reviewers: append(slices.Clone(cs.Reviewers), e.Target)}
	if err := set.Check(&sb.Salt, e.Commitment); err != nil {
		return fmt.Errorf("%w: the share's commitment is not the case's recipients with %s", ErrBadOutbox, e.Target)
	}
	entry.Type, entry.Subject, entry.Value = logentry.CaseShared, e.Commitment, e.Target
	return updateCase(tx, id, entry, func(c *store.Case) {
		signTeam(c, fp, e)
		c.Reviewers = append(c.Reviewers, e.Target)
		c.Salt = sb.Salt
		for i, m := range c.Messages {
			c.Messages[i].Rewrapped = headers[m.Blob]
		}
	})
}

// deleteEarly deletes the case with a CaseDeleted entry naming the reviewer (Value "early",
// Subject the SHA-256 of the signed envelope) and keeps the envelope (MetaEarlyDeletion) for the
// bundles, inside the push's transaction; Push compacts the store afterwards.
func deleteEarly(tx *store.Tx, id store.CaseID, e *envelope.Envelope, entry *logentry.Entry) error {
	raw, err := e.Marshal()
	if err != nil {
		return err
	}
	entry.Type, entry.Value, entry.Subject = logentry.CaseDeleted, logentry.ValueEarly, sha256.Sum256(raw)
	b, err := entry.Marshal()
	if err != nil {
		return err
	}
	_, err = tx.DeleteCaseNoting(id, [][]byte{b}, MetaEarlyDeletion+hex.EncodeToString(id[:]), raw)
	return err
}

// createIntake creates the case of an oral report, its staged transcript the first message
// (authored by the reviewer), with its CaseCreated entry (Actor the reviewer, Value "intake"),
// inside the push's transaction.
func createIntake(tx *store.Tx, fp string, st *staged, today day.Day) error {
	ib := st.intake
	id := store.CaseID(st.e.Case)
	set := leaf.RecipientSet{Reporter: ib.Reporter, Reviewers: ib.Reviewers}
	if err := set.Check(&ib.Salt, st.e.Commitment); err != nil {
		return fmt.Errorf("%w: the intake's commitment is not its recipients", ErrBadOutbox)
	}
	entry, err := (&logentry.Entry{Type: logentry.CaseCreated, Day: today, Case: id, Actor: fp,
		Value: logentry.ValueIntake, Subject: st.e.Commitment}).Marshal()
	if err != nil {
		return err
	}
	cs := &store.Case{ID: id, Category: intakeCategory(ib), Received: today, Status: envelope.StatusReceived,
		Reviewers: ib.Reviewers, ReporterRecipient: ib.Reporter, Lookup: ib.Lookup, Salt: ib.Salt,
		Messages: []store.Message{{Blob: st.id, Kind: store.KindReport, Author: fp, Day: today}}}
	_, err = tx.CreateCase(cs, []store.BlobID{st.id}, [][]byte{entry})
	return err
}

// storeSigned commits a staged reply's or note's age file as a message of kind with its log entry
// (ReplyAdded, Value "feedback" for feedback, or NoteAdded; Subject the age header's hash),
// keeping the envelope's signature for the bundles, inside the push's transaction.
func storeSigned(tx *store.Tx, id store.CaseID, fp string, st *staged, today day.Day, kind string) error {
	e := st.e
	le := &logentry.Entry{Type: logentry.ReplyAdded, Day: today, Case: id, Actor: fp, Subject: HeaderSubject(st.header)}
	switch {
	case kind == store.KindNote:
		le.Type = logentry.NoteAdded
	case e.Feedback:
		le.Value = logentry.ValueFeedback
	}
	entry, err := le.Marshal()
	if err != nil {
		return err
	}
	sig := &store.Signature{Seq: e.Seq, Day: e.Day, Sig: bytes.Clone(e.Sig)}
	_, err = tx.AddMessage(id, store.Message{Blob: st.id, Kind: kind, Author: fp, Day: today,
		Signature: sig, Feedback: e.Feedback}, [][]byte{entry})
	return err
}

// storeBlob writes an age file as a closed pending blob (header apart from the payload); the
// caller commits it with its case or message, or aborts it with w.Abort.
func (s *Service) storeBlob(file []byte) (*store.BlobWriter, store.BlobID, error) {
	header, payload, err := crypto.SplitHeader(bytes.NewReader(file))
	if err != nil {
		return nil, store.BlobID{}, err
	}
	w, err := s.st.NewBlob()
	if err != nil {
		return nil, store.BlobID{}, err
	}
	err = w.SetHeader(header)
	if err == nil {
		_, err = io.Copy(w, payload)
	}
	var id store.BlobID
	if err == nil {
		id, err = w.Close()
	}
	if err != nil {
		w.Abort()
		return nil, store.BlobID{}, err
	}
	return w, id, nil
}

// Record returns, for a case a reviewer recorded from an oral report (its first message is the
// reviewer's transcript, sealed to the reporter too), the transcript decrypted with the reporter's
// identity for the case page, where the reporter agrees with it or asks for a correction; nil for
// other cases.
func (s *Service) Record(cs *store.Case, id *age.HybridIdentity) *frontend.Reply {
	m, ok := intakeRecord(cs)
	if !ok {
		return nil
	}
	r, err := s.ReadReply(m, id)
	if err != nil {
		s.log.Error("decrypting an oral report's record", "err", err)
		return nil
	}
	r.Day, r.Author = m.Day, m.Author
	if n, ok := s.ReviewerNames()[m.Author]; ok {
		r.Author = n
	}
	return &r
}

// intakeRecord returns the transcript of a case recorded by a reviewer.
func intakeRecord(cs *store.Case) (store.Message, bool) {
	if len(cs.Messages) == 0 || cs.Messages[0].Kind != store.KindReport || cs.Messages[0].Author == store.AuthorReporter {
		return store.Message{}, false
	}
	return cs.Messages[0], true
}

// IsRecord reports whether blob is the transcript of an oral report of cs (which the reporter
// may download files of, like a reply's).
func IsRecord(cs *store.Case, blob store.BlobID) bool {
	m, ok := intakeRecord(cs)
	return ok && m.Blob == blob
}
