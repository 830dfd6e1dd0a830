package server

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"candor/frontend"
	"candor/internal/logentry"
	"candor/server/store"
)

// LookupSubject is the Subject of a CaseCreated log entry: SHA-256("candor/case-lookup\n" ‖
// lookup), where lookup is the case's stored Lookup. It lets a reporter whose case record has
// vanished learn that their report was logged, without the log revealing the lookup value itself.
func LookupSubject(lookup [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("candor/case-lookup\n"))
	h.Write(lookup[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// HeaderSubject is the Subject of a MessageAdded or ReplyAdded entry: SHA-256 of the blob's age
// header.
func HeaderSubject(header []byte) [32]byte { return sha256.Sum256(header) }

// signedCheckpoint signs the current tree head with the server key and returns its text.
func (s *Server) signedCheckpoint() ([]byte, error) {
	sc, err := s.checkpoint()
	if err != nil {
		return nil, err
	}
	return sc.Marshal()
}

func (s *Server) checkpoint() (*logentry.SignedCheckpoint, error) {
	size, hash, err := s.st.LogHead()
	if err != nil {
		return nil, err
	}
	sc := &logentry.SignedCheckpoint{Checkpoint: logentry.Checkpoint{Origin: s.keys.origin, Size: size, Hash: hash}}
	if err := sc.Sign(s.keys.signer); err != nil {
		return nil, err
	}
	return sc, nil
}

// logIndex remembers, for the login page, which CaseCreated subjects and which case deletions the
// log holds. It is built incrementally from the log (which only grows), so a failed login costs a
// map lookup, not a scan. It holds only hashes and case IDs that the log holds anyway.
type logIndex struct {
	mu      sync.Mutex
	scanned int64
	created map[[32]byte]int64 // LookupSubject → index of the CaseCreated entry
	cases   map[[32]byte][16]byte
	deleted map[[16]byte]int64 // case ID → index of its CaseDeleted entry
}

// loginTrace is what the log says about a receipt whose case was not found.
type loginTrace struct {
	created, deleted int64 // entry indices; -1: none
}

// trace updates the index and looks up subject.
func (s *Server) trace(subject [32]byte) (loginTrace, error) {
	x := s.logIndex
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cases == nil {
		x.cases = map[[32]byte][16]byte{}
	}
	size, err := s.st.LogSize()
	if err != nil {
		return loginTrace{}, err
	}
	for ; x.scanned < size; x.scanned++ {
		b, err := s.st.LogEntry(x.scanned)
		if err != nil {
			return loginTrace{}, err
		}
		e, err := logentry.Parse(b)
		if err != nil {
			continue // not ours to judge here; the reviewers' inbox verifies every entry
		}
		switch e.Type {
		case logentry.CaseCreated:
			x.created[e.Subject] = x.scanned
			x.cases[e.Subject] = e.Case
		case logentry.CaseDeleted:
			x.deleted[e.Case] = x.scanned
		}
	}
	t := loginTrace{created: -1, deleted: -1}
	if i, ok := x.created[subject]; ok {
		t.created = i
		if d, ok := x.deleted[x.cases[subject]]; ok {
			t.deleted = d
		}
	}
	return t, nil
}

// logView checks the case's log entries against a freshly signed checkpoint: each entry must
// verify with an inclusion proof against the checkpoint's root, and each message of the case that
// the log recorded (by its header hash) must still be there.
func (s *Server) logView(c *store.Case) (frontend.LogView, error) {
	v := frontend.LogView{Index: -1}
	if len(c.LogIndices) == 0 {
		return v, nil
	}
	v.Index = c.LogIndices[0]
	sc, err := s.checkpoint()
	if err != nil {
		return v, err
	}
	if err := sc.Verify(s.keys.signer.Public()); err != nil {
		return v, err
	}
	v.Size = sc.Size
	logged := map[[32]byte]bool{}
	for _, i := range c.LogIndices {
		e, ok, err := s.provedEntry(i, sc)
		if err != nil {
			return v, err
		}
		if !ok {
			return v, nil // Verified stays false
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
	v.Verified = true
	return v, nil
}

// provedEntry reads entry i and checks its inclusion in sc.
func (s *Server) provedEntry(i int64, sc *logentry.SignedCheckpoint) (*logentry.Entry, bool, error) {
	b, err := s.st.LogEntry(i)
	if err != nil {
		return nil, false, err
	}
	p, err := s.st.ProveRecord(sc.Size, i)
	if err != nil {
		return nil, false, err
	}
	if tlog.CheckRecord(p, sc.Size, sc.Hash, i, tlog.RecordHash(b)) != nil {
		return nil, false, nil
	}
	e, err := logentry.Parse(b)
	if err != nil {
		return nil, false, fmt.Errorf("log entry: %w", err)
	}
	return e, true, nil
}

// messageSubjects returns the header hashes of the case's stored messages.
func (s *Server) messageSubjects(c *store.Case) (map[[32]byte]bool, error) {
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
