package server

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"candor/cases"
	"candor/crypto"
)

// One-time form tokens make a submission idempotent. The report form carries a random token
// (fieldToken). The first POST with a token claims it; when its case is stored, the receipt is
// kept here in memory and the browser is sent (303) to the receipt page, which shows it once (a
// reload gets "already shown"). A POST repeating the token never makes a second case: while the
// first is still being received it waits for it, then is sent to the receipt if it was not shown
// yet (a double click: the browser shows only the second answer) or shown less than a minute ago
// (a click that cancelled the receipt page while it loaded — the Chromium test met this), else it
// gets the "already received" page. The receipt is wiped a minute after it was shown. A refused
// POST gives its token back, so the form can be sent again.
//
// Only claimed tokens are held, never the ones handed out with the form: a flood of GET /report
// cannot fill the table, and a form that stayed open for hours still works (an unknown
// well-formed token is simply claimed). The table is bounded; it forgets the oldest finished
// entries first and refuses a new claim (busy page, nothing read) when only unfinished ones
// are left.

const (
	tokenBytes      = 32
	maxFormTokens   = 4096
	maxKeepSlots    = 8                // refused uploads reading what was typed at once (each up to ~4×MaxMessageChars)
	receiptKeep     = 15 * time.Minute // an unshown receipt is wiped after this
	reshowWindow    = time.Minute      // a shown receipt may be sent again to a repeated POST this long
	tokenRemember   = 24 * time.Hour   // a used token is remembered this long
	receiptCookie   = "candor_receipt" // holds the form token between the 303 and the receipt page
	receiptShown    = "shown"          // the receipt cookie's value once the receipt page was left
	receiptPagePath = "/report/receipt"
)

// tokenState is where a claimed token is.
type tokenState int

const (
	tokenInFlight tokenState = iota // a POST is being received
	tokenReceipt                    // the case is stored; its receipt waits to be shown
	tokenShown                      // the receipt was shown less than reshowWindow ago (still held)
	tokenUsed                       // the receipt was shown (or expired unshown) and is wiped
)

type tokenEntry struct {
	state   tokenState
	done    chan struct{} // closed when the in-flight POST ends
	receipt *cases.NewCase
	at      time.Time // of the last state change
}

// formTokens is the table of claimed tokens. Its zero value is not usable: see newFormTokens.
type formTokens struct {
	mu  sync.Mutex
	m   map[string]*tokenEntry
	max int
	now func() time.Time
	// nwaits counts the POSTs that waited for another with the same token (for tests).
	nwaits int
}

func newFormTokens(max int, now func() time.Time) *formTokens {
	return &formTokens{m: map[string]*tokenEntry{}, max: max, now: now}
}

// newFormToken returns a fresh random token for a form.
func newFormToken() string {
	b := make([]byte, tokenBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validToken reports whether tok has the form of a token newFormToken makes.
func validToken(tok string) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil && len(b) == tokenBytes
}

// claimResult is what claim found.
type claimResult int

const (
	claimed      claimResult = iota // the caller owns the token: receive the report, then finish or release
	claimWait                       // another POST with the token is in flight: wait on the channel, then claim again
	claimReceipt                    // the report was stored and its receipt is not shown yet
	claimUsed                       // the report was stored and its receipt shown
	claimFull                       // the table is full of unfinished entries
)

// claim claims tok for a POST.
func (ft *formTokens) claim(tok string) (claimResult, <-chan struct{}) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.expireLocked()
	if e, ok := ft.m[tok]; ok {
		switch e.state {
		case tokenInFlight:
			ft.nwaits++
			return claimWait, e.done
		case tokenReceipt:
			return claimReceipt, nil
		case tokenShown:
			// A click that came while the browser was fetching the receipt page cancelled that
			// page: the reporter may not have seen the code. Show it again, once.
			e.state, e.at = tokenReceipt, ft.now()
			return claimReceipt, nil
		}
		return claimUsed, nil
	}
	if len(ft.m) >= ft.max && !ft.evictLocked() {
		return claimFull, nil
	}
	ft.m[tok] = &tokenEntry{state: tokenInFlight, done: make(chan struct{}), at: ft.now()}
	return claimed, nil
}

// finish records that the POST owning tok stored its case; nc is kept until the receipt page
// takes it.
func (ft *formTokens) finish(tok string, nc *cases.NewCase) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if e, ok := ft.m[tok]; ok && e.state == tokenInFlight {
		e.state, e.receipt, e.at = tokenReceipt, nc, ft.now()
		close(e.done)
	}
}

// release gives tok back after its POST was refused: nothing was stored.
func (ft *formTokens) release(tok string) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if e, ok := ft.m[tok]; ok && e.state == tokenInFlight {
		delete(ft.m, tok)
		close(e.done)
	}
}

// take returns a copy of the receipt of tok for the receipt page, once (the caller wipes its
// copy): a reload gets nothing. The entry keeps the receipt for reshowWindow, for a POST that
// repeats the token (see claim), then wipes it. ok is false for an unknown token; nc is nil
// when the receipt was shown before.
func (ft *formTokens) take(tok string) (nc *cases.NewCase, ok bool) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.expireLocked()
	e, ok := ft.m[tok]
	if !ok || e.state == tokenInFlight {
		return nil, false
	}
	if e.state != tokenReceipt {
		return nil, true
	}
	c := *e.receipt
	e.state, e.at = tokenShown, ft.now()
	return &c, true
}

// useLocked wipes e's receipt and marks e used.
func (ft *formTokens) useLocked(e *tokenEntry) {
	if e.receipt != nil {
		e.receipt.Code = crypto.Receipt{}
	}
	e.state, e.receipt, e.at = tokenUsed, nil, ft.now()
}

// expireLocked wipes receipts nobody fetched within receiptKeep, and shown ones after
// reshowWindow, and forgets used tokens after tokenRemember.
func (ft *formTokens) expireLocked() {
	now := ft.now()
	for tok, e := range ft.m {
		switch {
		case e.state == tokenReceipt && now.Sub(e.at) >= receiptKeep,
			e.state == tokenShown && now.Sub(e.at) >= reshowWindow:
			ft.useLocked(e)
		case e.state == tokenUsed && now.Sub(e.at) >= tokenRemember:
			delete(ft.m, tok)
		}
	}
}

// evictLocked forgets the oldest used token; it reports false if there is none.
func (ft *formTokens) evictLocked() bool {
	var oldest string
	var at time.Time
	for tok, e := range ft.m {
		if e.state == tokenUsed && (oldest == "" || e.at.Before(at)) {
			oldest, at = tok, e.at
		}
	}
	if oldest == "" {
		return false
	}
	delete(ft.m, oldest)
	return true
}
