// Package envelope defines the signed instructions a reviewer's offline inbox sends to the server
// (replies, status changes, holds and acknowledgements), and the outbox file that carries them.
//
// # Envelope encoding (version 1)
//
// All integers are big-endian; fields appear in this order, each exactly once.
//
//	"candor-envelope"     15 bytes magic
//	version               1 byte  (1)
//	kind                  1 byte  (1 reply, 2 status, 3 hold, 4 ack)
//	reviewerlen reviewer  1 byte (1..64) + printable ASCII without space: the reviewer's fingerprint
//	seq                   8 bytes, per reviewer, strictly increasing (replay protection is the server's)
//	case                  16 bytes; zero for ack, non-zero otherwise
//	day                   4 bytes (day.Day, two's complement)
//	statuslen status      1 byte + ASCII: one of received, acknowledged, in-review, closed for
//	                      status, empty otherwise
//	hold                  1 byte: 0 or 1; 0 unless kind is hold
//	cursor                8 bytes: 0 unless kind is ack
//	treesize              8 bytes: 0 unless kind is ack
//	bodylen body          4 bytes (0..64 MiB) + bytes: a complete age file for reply (it must start
//	                      with "age-encryption.org/v1\n"), empty otherwise
//	siglen sig            2 bytes (1..8192) + the signature
//
// The signed message is everything before siglen; the signature is made with context
// "candor/envelope". Nothing may follow the signature.
//
// # Outbox file
//
//	"candor-outbox/v1\n"  17 bytes magic line
//	count                 4 bytes: number of envelopes
//	count × (4-byte length ‖ envelope encoding)
//
// Nothing may follow the last envelope; within one outbox the envelopes of one reviewer have
// strictly increasing seq.
package envelope

import (
	"errors"
	"fmt"

	"candor/internal/day"
)

// Signer signs msg under a context string (crypto.SigningKey satisfies it).
type Signer interface {
	Sign(context string, msg []byte) ([]byte, error)
}

// Verifier checks a signature made by a Signer (crypto.VerifyKey satisfies it).
type Verifier interface {
	Verify(context string, msg, sig []byte) error
}

// SignatureContext is the context under which envelopes are signed.
const SignatureContext = "candor/envelope"

// Version is the current envelope version.
const Version = 1

// Limits of an envelope.
const (
	MaxReviewerLen  = 64
	MaxBodyLen      = 64 << 20
	MaxSignatureLen = 8192
)

// Kind is what an envelope asks the server to do. The values are part of the format.
type Kind uint8

// Envelope kinds.
const (
	KindReply  Kind = 1 // store Body (an age file) as a reply in Case
	KindStatus Kind = 2 // set Case's status to Status
	KindHold   Kind = 3 // place (Hold) or lift (!Hold) this reviewer's retention hold on Case
	KindAck    Kind = 4 // the inbox has imported the feed up to Cursor and the log up to TreeSize
)

// String returns "reply", "status", "hold", "ack" or "kind(N)".
func (k Kind) String() string {
	switch k {
	case KindReply:
		return "reply"
	case KindStatus:
		return "status"
	case KindHold:
		return "hold"
	case KindAck:
		return "ack"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Case statuses accepted in a KindStatus envelope.
const (
	StatusReceived     = "received"
	StatusAcknowledged = "acknowledged"
	StatusInReview     = "in-review"
	StatusClosed       = "closed"
)

// ValidStatus reports whether s is one of the four case statuses.
func ValidStatus(s string) bool {
	switch s {
	case StatusReceived, StatusAcknowledged, StatusInReview, StatusClosed:
		return true
	}
	return false
}

// AgeMagic is the first line of every age file; a reply body must start with it.
const AgeMagic = "age-encryption.org/v1\n"

// Errors returned by this package. Errors are wrapped with details; test with errors.Is.
var (
	// ErrVersion: not a version 1 envelope or outbox.
	ErrVersion = errors.New("envelope: unknown format or version")
	// ErrMalformed: truncated, trailing data, a non-canonical or out-of-range encoding.
	ErrMalformed = errors.New("envelope: malformed encoding")
	// ErrInvalid: the fields break a rule of the format (e.g. a status envelope without a status).
	ErrInvalid = errors.New("envelope: invalid envelope")
	// ErrUnsigned: the envelope has no signature.
	ErrUnsigned = errors.New("envelope: not signed")
	// ErrBadSignature: the signature does not verify.
	ErrBadSignature = errors.New("envelope: bad signature")
	// ErrTooLarge: an outbox exceeds the caller's limits.
	ErrTooLarge = errors.New("envelope: outbox too large")
)

// Envelope is one signed instruction from a reviewer.
type Envelope struct {
	// Version is the encoding version; Marshal treats 0 as Version, Parse always sets it.
	Version  uint8
	Kind     Kind
	Reviewer string // the signer's card fingerprint
	Seq      uint64
	Case     [16]byte // zero for KindAck
	Day      day.Day  // the day the reviewer wrote it
	Status   string   // KindStatus only
	Hold     bool     // KindHold only
	Cursor   uint64   // KindAck only: the feed cursor imported
	TreeSize uint64   // KindAck only: the log size verified
	Body     []byte   // KindReply only: a complete age file
	Sig      []byte
}

// Validate reports whether e's fields (all but Sig) follow the rules for its kind.
func (e *Envelope) Validate() error {
	if e.Version != 0 && e.Version != Version {
		return fmt.Errorf("%w: version %d", ErrVersion, e.Version)
	}
	if e.Kind < KindReply || e.Kind > KindAck {
		return invalid("unknown kind %d", uint8(e.Kind))
	}
	if e.Reviewer == "" || len(e.Reviewer) > MaxReviewerLen || !graphic(e.Reviewer) {
		return invalid("reviewer must be 1..%d bytes of printable ASCII without space", MaxReviewerLen)
	}
	if (e.Case == [16]byte{}) != (e.Kind == KindAck) {
		return invalid("case must be set exactly when the kind is not ack")
	}
	if (e.Kind == KindStatus) != (e.Status != "") || e.Status != "" && !ValidStatus(e.Status) {
		return invalid("status must be a known status for a status envelope and empty otherwise")
	}
	if e.Hold && e.Kind != KindHold {
		return invalid("hold set on a %v envelope", e.Kind)
	}
	if e.Kind != KindAck && (e.Cursor != 0 || e.TreeSize != 0) {
		return invalid("cursor or tree size set on a %v envelope", e.Kind)
	}
	return validateBody(e)
}

func validateBody(e *Envelope) error {
	if e.Kind != KindReply {
		if len(e.Body) != 0 {
			return invalid("body set on a %v envelope", e.Kind)
		}
		return nil
	}
	if len(e.Body) > MaxBodyLen {
		return invalid("body of %d bytes, limit %d", len(e.Body), MaxBodyLen)
	}
	if len(e.Body) < len(AgeMagic) || string(e.Body[:len(AgeMagic)]) != AgeMagic {
		return invalid("reply body is not an age file")
	}
	return nil
}

func graphic(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
