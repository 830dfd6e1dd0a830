// Package envelope defines the signed instructions a reviewer's offline inbox sends to the server
// (replies, status changes, holds, acknowledgements, and the team work of DESIGN §12: notes,
// assignment, sharing, early deletion and oral intake), and the outbox file that carries them.
//
// # Envelope encoding (version 2)
//
// All integers are big-endian; fields appear in this order, each exactly once.
//
//	"candor-envelope"     15 bytes magic
//	version               1 byte  (2)
//	kind                  1 byte  (1 reply, 2 status, 3 hold, 4 ack, 5 note, 6 assign, 7 share,
//	                      8 delete, 9 intake)
//	reviewerlen reviewer  1 byte (1..64) + printable ASCII without space: the reviewer's fingerprint
//	seq                   8 bytes, per reviewer, strictly increasing (replay protection is the server's)
//	case                  16 bytes; zero for ack, non-zero otherwise
//	day                   4 bytes (day.Day, two's complement)
//	statuslen status      1 byte + ASCII: one of received, acknowledged, in-review, closed for
//	                      status, empty otherwise
//	hold                  1 byte: 0 or 1; 0 unless kind is hold
//	cursor                8 bytes: 0 unless kind is ack
//	treesize              8 bytes: 0 unless kind is ack
//	outcomelen outcome    1 byte + ASCII: for a status envelope that closes the case, one of
//	                      substantiated, unsubstantiated, referred, no-action, withdrawn (required);
//	                      empty otherwise
//	feedback              1 byte: 0 or 1; 1 only on a reply that is the Directive's feedback
//	targetlen target      1 byte (0..64) + printable ASCII without space: assign (empty = nobody)
//	                      and share (required) name a reviewer's fingerprint; empty otherwise
//	commitment            32 bytes: share and intake carry the recipient-set commitment
//	                      (internal/leaf; required); zero otherwise
//	bodylen body          4 bytes (0..64 MiB) + bytes: a complete age file (it must start with
//	                      "age-encryption.org/v1\n") for reply, note and delete (the reason); a
//	                      ShareBody for share; an IntakeBody for intake; empty otherwise
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
	"strings"

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
const Version = 2

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
	// Kinds 5..9 (team work) are in team.go.
)

var kindNames = [...]string{"", "reply", "status", "hold", "ack", "note", "assign", "share", "delete", "intake"}

// String returns the kind's name ("reply", "status", "hold", "ack", "note", "assign", "share",
// "delete", "intake") or "kind(N)".
func (k Kind) String() string {
	if k >= KindReply && k <= KindIntake {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
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
	// Outcome: a KindStatus envelope with Status closed only (required there).
	Outcome string
	// Feedback: KindReply only: this reply is the Directive's feedback (Art. 9(1)(f)).
	Feedback bool
	// Target: KindAssign (the lead; empty = nobody) and KindShare (the new reviewer).
	Target string
	// Commitment: KindShare (the new recipient set's) and KindIntake (the new case's).
	Commitment [32]byte
	// Body: an age file (reply, note, delete), a ShareBody or an IntakeBody.
	Body []byte
	Sig  []byte
}

// Validate reports whether e's fields (all but Sig) follow the rules for its kind.
func (e *Envelope) Validate() error {
	if e.Version != 0 && e.Version != Version {
		return fmt.Errorf("%w: version %d", ErrVersion, e.Version)
	}
	if e.Kind < KindReply || e.Kind > KindIntake {
		return invalid("unknown kind %d", uint8(e.Kind))
	}
	if e.Reviewer == "" || len(e.Reviewer) > MaxReviewerLen || !graphic(e.Reviewer) {
		return invalid("reviewer must be 1..%d bytes of printable ASCII without space", MaxReviewerLen)
	}
	if (e.Case == [16]byte{}) != (e.Kind == KindAck) {
		return invalid("case must be set exactly when the kind is not ack")
	}
	if (e.Kind == KindStatus) != (e.Status != "") || e.Status != "" && !ValidStatus(e.Status) {
		return invalid("status must be one of %s for a status envelope and empty otherwise",
			strings.Join(Statuses(), ", "))
	}
	if e.Hold && e.Kind != KindHold {
		return invalid("hold set on a %v envelope", e.Kind)
	}
	if e.Kind != KindAck && (e.Cursor != 0 || e.TreeSize != 0) {
		return invalid("cursor or tree size set on a %v envelope", e.Kind)
	}
	if err := validateTeam(e); err != nil {
		return err
	}
	return validateBody(e)
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
