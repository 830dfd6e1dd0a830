package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
)

// This file owns the envelopes of team case work (DESIGN §12, version 2): notes, assignment,
// sharing, early deletion and oral intake, the outcome words a closing needs, and the bodies of
// share and intake envelopes.

// Team envelope kinds (version 2).
const (
	// KindNote: Body is an age file sealed to the case's reviewers only — never the reporter.
	KindNote Kind = 5
	// KindAssign: Target is the fingerprint of the reviewer who leads the case; empty = nobody.
	KindAssign Kind = 6
	// KindShare: Target is the registered reviewer given access, Commitment the new recipient
	// set's commitment (internal/leaf RecipientSet.Commit) and Body a ShareBody: every blob of the
	// case with a new age header that wraps its file key to the new recipient set.
	KindShare Kind = 7
	// KindDelete: early deletion; Body is an age file holding the reason, sealed to the case's
	// reviewers only.
	KindDelete Kind = 8
	// KindIntake: an oral report recorded by the reviewer; Case is the new case's ID (drawn by the
	// inbox), Commitment the new case's recipient-set commitment and Body an IntakeBody.
	KindIntake Kind = 9
)

// Case outcomes: a status envelope that closes a case names exactly one (Outcome); any other
// envelope has none.
const (
	OutcomeSubstantiated   = "substantiated"
	OutcomeUnsubstantiated = "unsubstantiated"
	OutcomeReferred        = "referred"
	OutcomeNoAction        = "no-action"
	OutcomeWithdrawn       = "withdrawn"
)

// ErrUnknownOutcome: a word that is not a case outcome.
var ErrUnknownOutcome = errors.New("unknown outcome")

// ErrNoOutcome: closing a case without an outcome.
var ErrNoOutcome = errors.New("closing a case needs an outcome")

// Outcomes returns the case outcomes (a new slice each call).
func Outcomes() []string {
	return []string{OutcomeSubstantiated, OutcomeUnsubstantiated, OutcomeReferred, OutcomeNoAction, OutcomeWithdrawn}
}

// CheckOutcome returns nil if o is an outcome, else an error wrapping ErrUnknownOutcome (empty o:
// ErrNoOutcome) that lists the valid words.
func CheckOutcome(o string) error {
	if o == "" {
		return fmt.Errorf("%w: want one of %s", ErrNoOutcome, strings.Join(Outcomes(), ", "))
	}
	if slices.Contains(Outcomes(), o) {
		return nil
	}
	return fmt.Errorf("%w %.32q: want one of %s", ErrUnknownOutcome, o, strings.Join(Outcomes(), ", "))
}

// validateTeam checks the version 2 fields: Outcome, Feedback, Target and Commitment.
func validateTeam(e *Envelope) error {
	closing := e.Kind == KindStatus && e.Status == StatusClosed
	if closing && CheckOutcome(e.Outcome) != nil {
		return invalid("closing a case needs one outcome of %s", strings.Join(Outcomes(), ", "))
	}
	if !closing && e.Outcome != "" {
		return invalid("outcome set on an envelope that does not close a case")
	}
	if e.Feedback && e.Kind != KindReply {
		return invalid("feedback set on a %v envelope", e.Kind)
	}
	if e.Target != "" && (e.Kind != KindAssign && e.Kind != KindShare || len(e.Target) > MaxReviewerLen || !graphic(e.Target)) {
		return invalid("target must be a fingerprint on assign and share envelopes only")
	}
	if e.Kind == KindShare && (e.Target == "" || e.Commitment == [32]byte{}) {
		return invalid("a share envelope needs a target and a commitment")
	}
	if e.Kind == KindIntake && e.Commitment == [32]byte{} {
		return invalid("an intake envelope needs a commitment")
	}
	if e.Kind != KindShare && e.Kind != KindIntake && e.Commitment != [32]byte{} {
		return invalid("commitment set on a %v envelope", e.Kind)
	}
	return nil
}

// sealedBody reports whether kind k's Body is one complete age file.
func sealedBody(k Kind) bool { return k == KindReply || k == KindNote || k == KindDelete }

// validateBody checks Body for e's kind.
func validateBody(e *Envelope) error {
	if len(e.Body) > MaxBodyLen {
		return invalid("body of %d bytes, limit %d", len(e.Body), MaxBodyLen)
	}
	switch {
	case sealedBody(e.Kind):
		if !isAgeFile(e.Body) {
			return invalid("%v body is not an age file", e.Kind)
		}
	case e.Kind == KindShare:
		if _, err := ParseShareBody(e.Body); err != nil {
			return invalid("share body: %v", err)
		}
	case e.Kind == KindIntake:
		if _, err := ParseIntakeBody(e.Body); err != nil {
			return invalid("intake body: %v", err)
		}
	case len(e.Body) != 0:
		return invalid("body set on a %v envelope", e.Kind)
	}
	return nil
}

func isAgeFile(b []byte) bool { return bytes.HasPrefix(b, []byte(AgeMagic)) }

// MaxShareBlobs bounds the blobs of one share envelope.
const MaxShareBlobs = 4096

// MaxHeaderLen bounds one re-wrapped age header in a share body.
const MaxHeaderLen = 1 << 20

// Rewrapped is one blob of a shared case with its new age header.
type Rewrapped struct {
	Blob   [16]byte
	Header []byte // a complete age header (it starts with "age-encryption.org/v1\n")
}

// ShareBody is the Body of a share envelope: the salt of the new recipient-set commitment (a
// share draws a new one; the envelope's Commitment is made under it), and every blob of the case,
// in strictly increasing ID order, with a new age header that wraps the blob's unchanged file key
// to the new recipient set.
//
//	salt(32, non-zero) count(2, 1..MaxShareBlobs) count × ( blob(16) headerlen(4, 1..MaxHeaderLen) header )
type ShareBody struct {
	Salt  [32]byte
	Blobs []Rewrapped
}

// Marshal returns the canonical encoding of s.
func (s *ShareBody) Marshal() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddBytes(s.Salt[:])
	b.AddUint16(uint16(len(s.Blobs)))
	for _, r := range s.Blobs {
		b.AddBytes(r.Blob[:])
		b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(r.Header) })
	}
	return b.Bytes()
}

func (s *ShareBody) validate() error {
	if s.Salt == [32]byte{} {
		return invalid("a share without a salt")
	}
	if len(s.Blobs) == 0 || len(s.Blobs) > MaxShareBlobs {
		return invalid("%d blobs in a share, want 1..%d", len(s.Blobs), MaxShareBlobs)
	}
	for i, r := range s.Blobs {
		if i > 0 && bytes.Compare(s.Blobs[i-1].Blob[:], r.Blob[:]) >= 0 {
			return invalid("share blobs not in strictly increasing order")
		}
		if len(r.Header) > MaxHeaderLen || !isAgeFile(r.Header) {
			return invalid("a share header is not an age header")
		}
	}
	return nil
}

// ParseShareBody decodes a share body; it accepts only the canonical encoding.
func ParseShareBody(b []byte) (*ShareBody, error) {
	s := cryptobyte.String(b)
	var n uint16
	var salt []byte
	if !s.ReadBytes(&salt, 32) || !s.ReadUint16(&n) {
		return nil, malformed("share body truncated")
	}
	out := &ShareBody{Salt: [32]byte(salt)}
	for range n {
		var id, h []byte
		var hl uint32
		if !s.ReadBytes(&id, 16) || !s.ReadUint32(&hl) || hl > MaxHeaderLen || !s.ReadBytes(&h, int(hl)) {
			return nil, malformed("share body truncated")
		}
		out.Blobs = append(out.Blobs, Rewrapped{Blob: [16]byte(id), Header: bytes.Clone(h)})
	}
	if !s.Empty() {
		return nil, malformed("data after the share body")
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// Limits of an intake body.
const (
	MaxCategoryLen  = 64
	MaxRecipientLen = 4096
	MaxReviewers    = 64
)

// IntakeBody is the Body of an intake envelope: what the server needs to create the case of an
// oral report, and the transcript sealed to the reporter and the reviewers.
//
//	category(1 + 0..64 UTF-8 without control characters; empty = the default category)
//	lookup(32)            the reporter key's lookup value (crypto.ReporterKey.Lookup)
//	salt(32)              the salt of the recipient-set commitment the envelope carries
//	reporter(2 + 1..4096) the reporter's age recipient, printable ASCII
//	count(1, 1..64) count × reviewer(1 + 1..64 printable ASCII without space), strictly increasing
//	transcript            the rest: a complete age file
type IntakeBody struct {
	Category   string
	Lookup     [32]byte
	Salt       [32]byte
	Reporter   string
	Reviewers  []string
	Transcript []byte
}

// Marshal returns the canonical encoding of ib.
func (ib *IntakeBody) Marshal() ([]byte, error) {
	if err := ib.validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(ib.Category)) })
	b.AddBytes(ib.Lookup[:])
	b.AddBytes(ib.Salt[:])
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(ib.Reporter)) })
	b.AddUint8(uint8(len(ib.Reviewers)))
	for _, r := range ib.Reviewers {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(r)) })
	}
	b.AddBytes(ib.Transcript)
	return b.Bytes()
}

func (ib *IntakeBody) validate() error {
	switch {
	case len(ib.Category) > MaxCategoryLen || !plainText(ib.Category):
		return invalid("intake category must be at most %d bytes of UTF-8 without control characters", MaxCategoryLen)
	case ib.Lookup == [32]byte{} || ib.Salt == [32]byte{}:
		return invalid("intake without a lookup value or a salt")
	case ib.Reporter == "" || len(ib.Reporter) > MaxRecipientLen || !graphic(ib.Reporter):
		return invalid("intake reporter recipient must be 1..%d bytes of printable ASCII", MaxRecipientLen)
	case len(ib.Reviewers) == 0 || len(ib.Reviewers) > MaxReviewers:
		return invalid("intake needs 1..%d reviewers", MaxReviewers)
	case !isAgeFile(ib.Transcript):
		return invalid("intake transcript is not an age file")
	}
	for i, r := range ib.Reviewers {
		if len(r) > MaxReviewerLen || r == "" || !graphic(r) || i > 0 && ib.Reviewers[i-1] >= r {
			return invalid("intake reviewers must be fingerprints in strictly increasing order")
		}
	}
	return nil
}

// ParseIntakeBody decodes an intake body; it accepts only the canonical encoding.
func ParseIntakeBody(b []byte) (*IntakeBody, error) {
	s := cryptobyte.String(b)
	var cat, reporter cryptobyte.String
	var lookup, salt []byte
	var n uint8
	if !s.ReadUint8LengthPrefixed(&cat) || !s.ReadBytes(&lookup, 32) || !s.ReadBytes(&salt, 32) ||
		!s.ReadUint16LengthPrefixed(&reporter) || !s.ReadUint8(&n) {
		return nil, malformed("intake body truncated")
	}
	ib := &IntakeBody{Category: string(cat), Lookup: [32]byte(lookup), Salt: [32]byte(salt), Reporter: string(reporter)}
	for range n {
		var r cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&r) {
			return nil, malformed("intake body truncated")
		}
		ib.Reviewers = append(ib.Reviewers, string(r))
	}
	ib.Transcript = bytes.Clone(s)
	if err := ib.validate(); err != nil {
		return nil, err
	}
	return ib, nil
}

func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
