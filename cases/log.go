package cases

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"candor/frontend"
	"candor/installation"
	"candor/internal/checkpoint"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/leaf"
	"candor/internal/logentry"
	"candor/server/store"
)

// LookupSubject is SHA-256("candor/case-lookup\n" ‖ lookup), where lookup is the case's stored
// Lookup. Its first 24 bytes, base64url (LookupValue), are the Value of the case's CaseCreated
// entry: they let a reporter whose case record has vanished learn that their report was logged,
// without the log revealing the lookup value itself.
func LookupSubject(lookup [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("candor/case-lookup\n"))
	h.Write(lookup[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// LookupValue is the Value of a CaseCreated entry for the case whose LookupSubject is subject:
// base64url without padding of its first 24 bytes (32 characters).
func LookupValue(subject [32]byte) string {
	return base64.RawURLEncoding.EncodeToString(subject[:24])
}

// HeaderSubject is the Subject of a MessageAdded or ReplyAdded entry: SHA-256 of the blob's age
// header.
func HeaderSubject(header []byte) [32]byte { return sha256.Sum256(header) }

// NoteAt returns the checkpoint note of the tree of size n: the one the witnesses cosigned if the
// witnesses' state holds it, else one signed now with the log's keys only.
func (s *Service) NoteAt(n int64) ([]byte, *checkpoint.Checkpoint, error) {
	ws, err := installation.LoadWitnessState(s.st, s.keys.Origin)
	if err != nil {
		return nil, nil, err
	}
	if ws.Note != nil && ws.Size == n {
		if c, err := s.openNote(ws.Note); err == nil && c.Size == n {
			return ws.Note, c, nil
		}
	}
	h, err := s.st.TreeHash(n)
	if err != nil {
		return nil, nil, err
	}
	c := &checkpoint.Checkpoint{Origin: s.keys.Origin, Size: n, Hash: h}
	note, err := s.keys.Log.Sign(c)
	return note, c, err
}

// Note returns the checkpoint note of the current tree (NoteAt).
func (s *Service) Note() ([]byte, *checkpoint.Checkpoint, error) {
	n, err := s.st.LogSize()
	if err != nil {
		return nil, nil, err
	}
	return s.NoteAt(n)
}

// openNote verifies a stored note with the log's keys.
func (s *Service) openNote(note []byte) (*checkpoint.Checkpoint, error) {
	v, err := checkpoint.NewLogVerifier(s.keys.Log.LogKey())
	if err != nil {
		return nil, err
	}
	c, err := checkpoint.Open(note, v, nil, 0)
	if err != nil {
		return nil, err
	}
	return &c.Checkpoint, nil
}

// logIndex remembers, for the login page, which CaseCreated entries (by their Value) and which
// case deletions the log holds. It is built incrementally from the log (which only grows within
// an epoch), so a failed login costs a map lookup, not a scan. It holds only values and case IDs
// that the log holds anyway.
type logIndex struct {
	mu      sync.Mutex
	origin  string
	scanned int64
	Created map[string]int64 // LookupValue → index of the CaseCreated entry
	cases   map[string][16]byte
	Deleted map[[16]byte]int64 // case ID → index of its CaseDeleted entry
	// restored is the day of the latest RestoreDone entry (0: none): reports made before it
	// and after the backup was taken were lost.
	restored day.Day
}

// LoginTrace is what the log says about a receipt whose case was not found.
type LoginTrace struct {
	Created, Deleted int64   // entry indices; -1: none
	Restored         day.Day // the day of the latest restore from a backup; 0: never restored
}

// Trace updates the index and looks up the case whose LookupSubject is subject.
func (s *Service) Trace(subject [32]byte) (LoginTrace, error) {
	x := s.logIndex
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cases == nil || x.origin != s.keys.Origin {
		x.origin, x.scanned, x.restored = s.keys.Origin, 0, 0
		x.Created, x.cases, x.Deleted = map[string]int64{}, map[string][16]byte{}, map[[16]byte]int64{}
	}
	size, err := s.st.LogSize()
	if err != nil {
		return LoginTrace{}, err
	}
	for ; x.scanned < size; x.scanned++ {
		b, err := s.st.LogEntry(x.scanned)
		if err != nil {
			return LoginTrace{}, err
		}
		e, err := logentry.Parse(b)
		if err != nil {
			continue // not ours to judge here (an epoch record); the reviewers' inbox verifies every entry
		}
		switch e.Type {
		case logentry.CaseCreated:
			if e.Value == logentry.ValueIntake {
				continue // an oral report's entry names no lookup value
			}
			x.Created[e.Value] = x.scanned
			x.cases[e.Value] = e.Case
		case logentry.CaseDeleted:
			x.Deleted[e.Case] = x.scanned
		case logentry.RestoreDone:
			x.restored = max(x.restored, e.Day)
		}
	}
	t := LoginTrace{Created: -1, Deleted: -1, Restored: x.restored}
	v := LookupValue(subject)
	if i, ok := x.Created[v]; ok {
		t.Created = i
		if d, ok := x.Deleted[x.cases[v]]; ok {
			t.Deleted = d
		}
	}
	return t, nil
}

// ErrRecipientsChanged: a case record's reporter recipient or reviewers are not the set its log
// entries commit to (someone edited the store): nothing is sealed to it.
var ErrRecipientsChanged = errors.New("the case's recipients differ from the set committed in the case log")

// CheckRecipients checks the case record's reporter recipient and reviewers against the
// commitment its log entries carry (logentry.Commitment over the entries of this case at its
// LogIndices, the rule every inbox applies too). Follow-ups are sealed, and case entries
// addressed, only to a record that passes: an admin who edits the record cannot add a key.
func (s *Service) CheckRecipients(cs *store.Case) error {
	var entries []*logentry.Entry
	for _, i := range cs.LogIndices {
		b, err := s.st.LogEntry(i)
		if err != nil {
			return err
		}
		e, err := logentry.Parse(b)
		if err != nil || e.Case != cs.ID {
			continue // not an entry of this case: an edited record does not make it one
		}
		entries = append(entries, e)
	}
	cm, ok := logentry.Commitment(entries, func(e *logentry.Entry) bool { return s.signedShare(cs, e) })
	set := leaf.RecipientSet{Reporter: cs.ReporterRecipient, Reviewers: cs.Reviewers}
	if !ok || set.Check(&cs.Salt, cm) != nil {
		s.log.Error("CASE RECORD ALTERED: a case's recipients differ from its log commitment; nothing is sealed to them")
		return ErrRecipientsChanged
	}
	return nil
}

// signedShare reports whether share entry e of case cs is backed by a share envelope the case
// keeps (store.Case.Signed) with the same commitment, signed by its author's card.
func (s *Service) signedShare(cs *store.Case, e *logentry.Entry) bool {
	for _, ch := range cs.Signed {
		if ch.Kind != store.ChangeShare || !bytes.Equal(ch.Commitment, e.Subject[:]) {
			continue
		}
		card, err := s.Card(ch.Author)
		if err != nil {
			continue
		}
		env := &envelope.Envelope{Kind: envelope.KindShare, Reviewer: ch.Author, Seq: ch.Seq, Case: cs.ID,
			Day: ch.Day, Target: ch.Target, Commitment: e.Subject, Body: ch.Body, Sig: ch.Sig}
		if envelope.Verify(env, card.VerifyKey()) == nil {
			return true
		}
	}
	return false
}

// LogView says what the reporter's case page shows of the log: the case's CaseCreated entry, the
// log's size, and whether the log holds the case's deletion or a logged message is gone. It claims
// nothing the server checks against itself: the reviewers' inboxes and the witnesses check the log.
func (s *Service) LogView(c *store.Case) (frontend.LogView, error) {
	v := frontend.LogView{Index: -1}
	if len(c.LogIndices) == 0 {
		return v, nil
	}
	v.Index = c.LogIndices[0]
	logged := map[[32]byte]bool{}
	for _, i := range c.LogIndices {
		b, err := s.st.LogEntry(i)
		if err != nil {
			return v, err
		}
		e, err := logentry.Parse(b)
		if err != nil {
			return v, fmt.Errorf("log entry: %w", err)
		}
		switch e.Type {
		case logentry.MessageAdded, logentry.ReplyAdded:
			logged[e.Subject] = true
		case logentry.CaseDeleted:
			v.Deleted = true
		}
	}
	present, err := s.messageSubjects(c)
	if err != nil {
		return v, err
	}
	for h := range logged {
		if !present[h] {
			v.Deleted = true // a logged message is gone from the case
		}
	}
	return v, nil
}

// messageSubjects returns the header hashes of the case's stored messages.
func (s *Service) messageSubjects(c *store.Case) (map[[32]byte]bool, error) {
	out := map[[32]byte]bool{}
	for _, m := range c.Messages {
		b, err := s.st.OpenBlob(m.Blob)
		if err != nil {
			return nil, err
		}
		out[HeaderSubject(b.Header)] = true
	}
	return out, nil
}
