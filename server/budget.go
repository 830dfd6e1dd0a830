package server

import (
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"candor/frontend"
	"candor/internal/torcircuit"
	"candor/server/circuit"
)

// Per-circuit budgets (server/circuit). On tor's public socket, wrapped in a torcircuit.Listener by
// cmd/candor, every connection names the Tor circuit it came on, and each budgeted action draws on
// that circuit's budget before it costs the server anything: a submission or follow-up before its
// body is read, a login before its Argon2id derivation, a session before it is created, an upload
// slot before the global memory reservation. Over a budget the request gets the over-budget page
// (429 with Retry-After): wait, or open a new identity in Tor Browser, which gives a new circuit.
// Nothing is stored for a refused request. A listener without circuits (--dev-listen) gives every
// request circuit.Global, which has no budget by default: the global caps below stay the only
// limits there, and they stay the last line under circuits too.

// requestKey returns whose budgets the request draws on: its Tor circuit, or circuit.Global.
func requestKey(c *fiber.Ctx) circuit.Key {
	if conn := c.Context().Conn(); conn != nil {
		if id, ok := torcircuit.FromConn(conn); ok {
			return circuit.CircuitKey(id)
		}
	}
	return circuit.Global
}

// spend takes one action of kind from key's budget, or returns the over-budget page; back is the
// page's "go back" link.
func (s *Server) spend(key circuit.Key, kind circuit.Kind, back string) error {
	d := s.circuits.Allow(key, kind)
	if d.OK {
		return nil
	}
	return &pageError{key: frontend.ErrorOverBudget, back: back, retry: d.RetryAfter, what: kind.String()}
}

// circuitUpload takes one of key's concurrent upload slots, or returns the over-budget page.
func (s *Server) circuitUpload(key circuit.Key, back string) (func(), error) {
	release, ok := s.circuits.Acquire(key)
	if ok {
		return release, nil
	}
	// An upload slot frees when an upload ends; a minute is an honest guess to show.
	return nil, &pageError{key: frontend.ErrorOverBudget, back: back, retry: time.Minute, what: "uploads"}
}

// refuseUpload returns err after reading (and discarding) up to refusedDrain bytes of the request's
// body for at most refusedDrainTime: a browser still sending a form when the server answers and
// closes may lose the answer (the connection is reset), and the reporter would see a broken
// connection instead of the page that says to wait. A typical report form fits.
func (s *Server) refuseUpload(c *fiber.Ctx, err error) error {
	if stream := c.Context().RequestBodyStream(); stream != nil {
		if conn := c.Context().Conn(); conn != nil {
			conn.SetReadDeadline(time.Now().Add(refusedDrainTime))
		}
		io.CopyN(io.Discard, stream, refusedDrain)
	}
	return err
}

const (
	refusedDrain     = 4 << 20
	refusedDrainTime = 10 * time.Second
)

// retryAfter is the Retry-After value for d: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// Circuits returns the keeper of the per-circuit budgets (cmd/candor resets it when tor restarts).
func (s *Server) Circuits() *circuit.Keeper { return s.circuits }
