// Package witnessclient asks C2SP tlog-witness witnesses to cosign the case log's checkpoints
// (the add-checkpoint call). It owns the request, the bounded wait for the answer, the retry when
// the witness knows another size, and the verdict: a cosignature, or an error that says whether
// the witness is down ([ErrUnavailable], [ErrBadResponse]), refuses the log ([ErrRefused]), or has
// seen a history that the submitted checkpoint contradicts ([ErrRollback], [ErrFork]).
//
// The client takes an *http.Client, so the server can route onion witnesses through tor's SOCKS
// port; it never follows redirects (a witness must not send a log's requests elsewhere). It does
// not depend on the server or on any HTTP framework.
//
//	c := witnessclient.New(witnessclient.Config{HTTP: httpClient})
//	res, err := c.AddCheckpoint(ctx, w, witnessedSize, signedNote, prove)
//	switch {
//	case errors.Is(err, witnessclient.ErrRollback), errors.Is(err, witnessclient.ErrFork):
//		// alarm: the witness has seen another history of this log
//	case err != nil:
//		// the witness is down or misconfigured: try again later
//	default:
//		signedNote = append(signedNote, res.Lines...)
//	}
package witnessclient

import (
	"errors"
	"net/http"
	"time"

	"candor/internal/checkpoint"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors of AddCheckpoint. They are wrapped with details; test with errors.Is.
var (
	// ErrUnavailable: the witness did not answer in time, could not be reached, or answered with
	// a server error. The witness is down: try again later.
	ErrUnavailable = errors.New("witness unavailable")
	// ErrBadResponse: the witness answered something that is not a valid answer (garbage, too
	// long, a cosignature that does not verify). Treat it as down, and tell its operator.
	ErrBadResponse = errors.New("witness answered garbage")
	// ErrRefused: the witness does not accept this log (unknown origin or key, 403/404) or the
	// request (400). A configuration problem, not evidence against the log.
	ErrRefused = errors.New("witness refused the log")
	// ErrRollback: the witness has cosigned a larger tree of this log than the one submitted:
	// the log was rolled back (e.g. an older copy of the store put back).
	ErrRollback = errors.New("rollback: the witness has cosigned a larger tree of this log")
	// ErrFork: the witness has cosigned a tree of this log that the submitted checkpoint does not
	// extend (same size with another root, or an inconsistent consistency proof): the log forked.
	ErrFork = errors.New("fork: the witness has cosigned another history of this log")
)

// Defaults of Config.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxResponse = 16 << 10
	maxAttempts        = 3  // the first request and two retries after 409
	maxProofLines      = 63 // tlog-witness: the client MUST NOT send more
)

// Config configures a Client. The zero value is usable.
type Config struct {
	// HTTP sends the requests; nil means a client with default transport. Its redirect policy is
	// replaced: redirects are never followed.
	HTTP *http.Client
	// Timeout bounds one add-checkpoint request, answer included; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxResponse bounds the answer body in bytes; zero means DefaultMaxResponse.
	MaxResponse int64
}

// Witness is one witness: where it listens and the key its cosignatures verify under.
type Witness struct {
	// URL is the witness's submission prefix ("http://127.0.0.1:7380", or an onion address);
	// add-checkpoint is appended.
	URL string
	Key *checkpoint.CosignatureVerifier
}

// Prover returns the consistency proof from oldSize to the submitted checkpoint's size
// (tlog.ProveTree(size, oldSize, hashes)).
type Prover func(oldSize int64) (tlog.TreeProof, error)

// Result is a witness's cosignature of a checkpoint.
type Result struct {
	// Lines are the witness's verified cosignature lines, to append to the signed note.
	Lines       []byte
	Cosignature checkpoint.Cosignature
	// OldSize is the size the witness had cosigned before (after any 409 retry).
	OldSize int64
}

// Client sends add-checkpoint requests. It is safe for concurrent use.
type Client struct {
	http        *http.Client
	timeout     time.Duration
	maxResponse int64
}

// New returns a Client.
func New(cfg Config) *Client {
	hc := http.Client{}
	if cfg.HTTP != nil {
		hc = *cfg.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{http: &hc, timeout: cfg.Timeout, maxResponse: cfg.MaxResponse}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxResponse <= 0 {
		c.maxResponse = DefaultMaxResponse
	}
	return c
}
