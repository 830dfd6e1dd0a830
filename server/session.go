package server

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"filippo.io/age"

	"candor/crypto"
	"candor/server/store"
)

// sessionCookie names the follow-up session cookie. It holds only a random 32-byte id (base64url).
// It is HttpOnly, SameSite=Strict and Path=/; it has no Secure flag because the public service is
// plain HTTP over an onion address (Tor provides the encryption and authentication), and browsers
// would drop a Secure cookie there. It has no Expires: it dies with the browser session, and the
// server forgets the session after the idle timeout anyway.
const sessionCookie = "candor_session"

// session is a logged-in reporter. key is the reporter's identity, in memory only; it is wiped on
// logout and expiry.
type session struct {
	caseID store.CaseID
	key    *crypto.ReporterKey
	seen   time.Time
	notice string // one-shot confirmation for the next case page (a catalog key)
}

// sessions is a bounded in-memory set of sessions with an idle timeout driven by now. It holds at
// most one session per case: a new login with a code replaces the session it had, so that logging
// in again and again with one code (which anyone can get by submitting) cannot fill the set.
type sessions struct {
	mu     sync.Mutex
	m      map[string]*session
	byCase map[store.CaseID]string // the session id of each case with a session
	max    int
	idle   time.Duration
	now    func() time.Time
}

func newSessions(max int, idle time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, byCase: map[store.CaseID]string{}, max: max, idle: idle, now: now}
}

// create stores a new session for the case and key, replacing the case's earlier session, and
// returns its id; it takes ownership of key. It returns ok=false (and wipes key) if the set is
// full of live sessions of other cases.
func (ss *sessions) create(id store.CaseID, key *crypto.ReporterKey) (string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if old, ok := ss.byCase[id]; ok {
		ss.removeLocked(old)
	}
	ss.sweepLocked()
	if len(ss.m) >= ss.max {
		key.Wipe()
		return "", false
	}
	b := make([]byte, 32)
	rand.Read(b)
	sid := base64.RawURLEncoding.EncodeToString(b)
	ss.m[sid] = &session{caseID: id, key: key, seen: ss.now()}
	ss.byCase[id] = sid
	return sid, true
}

// view is what a request may use of a session: copies taken under the lock, so that a
// concurrent logout cannot race with a handler that is still decrypting.
type view struct {
	caseID   store.CaseID
	identity *age.HybridIdentity
	notice   string
}

// get returns the live session sid, marks it used and takes its one-shot notice; an expired one
// is wiped and removed.
func (ss *sessions) get(sid string) (view, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[sid]
	if !ok {
		return view{}, false
	}
	now := ss.now()
	if now.Sub(s.seen) >= ss.idle {
		ss.removeLocked(sid)
		return view{}, false
	}
	s.seen = now
	v := view{caseID: s.caseID, identity: s.key.Identity(), notice: s.notice}
	s.notice = ""
	return v, v.identity != nil
}

// setNotice sets the one-shot notice of session sid.
func (ss *sessions) setNotice(sid, n string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[sid]; ok {
		s.notice = n
	}
}

// delete wipes and removes session sid.
func (ss *sessions) delete(sid string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.removeLocked(sid)
}

func (ss *sessions) removeLocked(sid string) {
	if s, ok := ss.m[sid]; ok {
		s.key.Wipe()
		delete(ss.m, sid)
		if ss.byCase[s.caseID] == sid {
			delete(ss.byCase, s.caseID)
		}
	}
}

func (ss *sessions) sweepLocked() {
	now := ss.now()
	for sid, s := range ss.m {
		if now.Sub(s.seen) >= ss.idle {
			ss.removeLocked(sid)
		}
	}
}

// sweep wipes expired sessions.
func (ss *sessions) sweep() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweepLocked()
}

// wipeAll wipes and removes every session (shutdown).
func (ss *sessions) wipeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for sid := range ss.m {
		ss.removeLocked(sid)
	}
}

// janitor sweeps every interval until stop is closed, so that an abandoned session's identity
// does not outlive its idle timeout by more than interval.
func (ss *sessions) janitor(stop <-chan struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ss.sweep()
		}
	}
}
