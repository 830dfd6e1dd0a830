// Package circuit keeps Candor's per-Tor-circuit budgets: how many submissions, receipt logins
// (Argon2id work), follow-up messages and new sessions one client circuit may start in a while, and
// how many uploads it may run at once. It also counts submissions per day, content-free, and says when
// a day's count is unusual (rate.go).
//
// Behind the onion service every connection comes from tor; with HiddenServiceExportCircuitID the
// listener learns each connection's circuit (internal/torcircuit), and the budgets here are kept per
// circuit. A flood then costs its sender one new circuit per small budget — and a new rendezvous
// circuit is what tor's proof-of-work defence prices when the service is under load — while an honest
// reporter, on a circuit of their own, never meets anyone else's limit. Tor Browser's "New Identity"
// gives a new circuit, so the page that refuses a request can say so.
//
//	k := circuit.New(circuit.Config{})
//	key := circuit.Global
//	if id, ok := torcircuit.FromConn(conn); ok {
//		key = circuit.CircuitKey(id)
//	}
//	if d := k.Allow(key, circuit.Submit); !d.OK {
//		// the over-budget page: wait d.RetryAfter, or open a new identity
//	}
//
// Without a circuit (--dev-listen) every request has the Global key, whose budgets are Config.Global:
// zero by default, meaning no budget here at all — the server's global caps (concurrent uploads, KDF
// slots, sessions) stay the only limits, as before circuits were known. Global caps stay as the last
// line under circuits too; these budgets come in front of them.
//
// Memory is bounded twice: a circuit whose budgets have fully refilled and that runs no upload is
// forgotten (it is the same as a circuit never seen), checked a few entries per call; and at most
// Config.MaxCircuits circuits are kept, the least recently used forgotten first. Forgetting a circuit
// only ever gives it a fresh budget — what a new circuit gets anyway.
package circuit

import (
	"time"
)

// Kind is a budgeted action.
type Kind uint8

// The rate-limited actions.
const (
	Submit   Kind = iota // a report (POST /report)
	Login                // a receipt-code login: one Argon2id derivation
	FollowUp             // a follow-up message from a logged-in reporter
	Session              // a new follow-up session (a successful login)
	numKinds
)

// String names the kind for logs and pages.
func (k Kind) String() string {
	switch k {
	case Submit:
		return "submissions"
	case Login:
		return "logins"
	case FollowUp:
		return "follow-up messages"
	case Session:
		return "sessions"
	}
	return "unknown"
}

// Rate allows Burst actions at once and refills continuously at Burst per Per: after a full burst, the
// next action is allowed Per/Burst later. The zero Rate allows everything.
type Rate struct {
	Burst int
	Per   time.Duration
}

func (r Rate) unlimited() bool { return r.Burst <= 0 || r.Per <= 0 }

// Budgets are the limits of one key.
type Budgets struct {
	Rates   [numKinds]Rate // indexed by Kind
	Uploads int            // uploads running at once; 0: no bound
}

// DefaultBudgets returns the per-circuit defaults. Each is small for a flood and large for a person:
//
//   - Submit, 3 per hour: an honest reporter submits once, perhaps a second time to add a forgotten
//     file; a fourth report from the same circuit within the hour is a flood. A reporter who really
//     needs more opens a new identity (a new circuit), which the page says.
//   - Login, 6 per 15 minutes: each login is one Argon2id derivation (64 MiB, about a second of a core);
//     six allow a few mistyped codes, while a circuit cannot occupy the server's KDF slots for long.
//   - FollowUp, 10 per hour: a conversation with reviewers is a few messages a day.
//   - Session, 3 per 30 minutes (the session idle timeout): one circuit cannot fill the session table
//     with one code; a reporter who logs out and in again still can.
//   - Uploads, 2 at once: Tor Browser sends one form at a time; two allow a retry while the first
//     upload still hangs.
func DefaultBudgets() Budgets {
	var b Budgets
	b.Rates[Submit] = Rate{Burst: 3, Per: time.Hour}
	b.Rates[Login] = Rate{Burst: 6, Per: 15 * time.Minute}
	b.Rates[FollowUp] = Rate{Burst: 10, Per: time.Hour}
	b.Rates[Session] = Rate{Burst: 3, Per: 30 * time.Minute}
	b.Uploads = 2
	return b
}

// DefaultMaxCircuits bounds the circuits a Keeper remembers at once (about 60 bytes each: see
// BenchmarkMemory). Only circuits active within the longest refill period (an hour by default) are
// kept at all, so the bound matters only under a flood of circuits, each of which tor prices.
const DefaultMaxCircuits = 100_000

// Config configures New.
type Config struct {
	// Circuit holds the budgets of each circuit; the zero value means DefaultBudgets.
	Circuit *Budgets
	// Global holds the budgets of the Global key (no circuit known); the zero value means none.
	Global Budgets
	// MaxCircuits bounds the circuits remembered; 0 means DefaultMaxCircuits.
	MaxCircuits int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Key names whose budget an action draws on: a circuit, or Global.
type Key struct {
	id      uint32
	circuit bool
}

// Global is the key of requests on a listener without circuits.
var Global = Key{}

// CircuitKey returns the key of circuit id.
func CircuitKey(id uint32) Key { return Key{id: id, circuit: true} }

// IsCircuit reports whether k names a circuit.
func (k Key) IsCircuit() bool { return k.circuit }

// Decision is the answer to Allow.
type Decision struct {
	OK bool
	// RetryAfter is, when !OK, how long until the key may act again (for the over-budget page).
	RetryAfter time.Duration
}

// RetryMinutes is RetryAfter in whole minutes, rounded up (at least 1), as the over-budget page says it.
func (d Decision) RetryMinutes() int {
	return max(1, int((d.RetryAfter+time.Minute-1)/time.Minute))
}
