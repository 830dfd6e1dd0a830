package envelope

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"candor/internal/day"
)

const magic = "candor-envelope"

// SignedMessage returns the canonical encoding of every field but Sig: the bytes the signature
// covers. It fails if e is invalid.
func (e *Envelope) SignedMessage() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(magic)+120+len(e.Reviewer)+len(e.Status)+len(e.Outcome)+len(e.Target)+len(e.Body)))
	addSigned(b, e)
	out, err := b.Bytes()
	if err != nil {
		return nil, invalid("%v", err)
	}
	return out, nil
}

func addSigned(b *cryptobyte.Builder, e *Envelope) {
	b.AddBytes([]byte(magic))
	b.AddUint8(Version)
	b.AddUint8(uint8(e.Kind))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.Reviewer)) })
	b.AddUint64(e.Seq)
	b.AddBytes(e.Case[:])
	b.AddUint32(uint32(e.Day))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.Status)) })
	b.AddUint8(boolByte(e.Hold))
	b.AddUint64(e.Cursor)
	b.AddUint64(e.TreeSize)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.Outcome)) })
	b.AddUint8(boolByte(e.Feedback))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.Target)) })
	b.AddBytes(e.Commitment[:])
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Body) })
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// Marshal returns the encoding of a signed envelope.
func (e *Envelope) Marshal() ([]byte, error) {
	if len(e.Sig) == 0 {
		return nil, ErrUnsigned
	}
	if len(e.Sig) > MaxSignatureLen {
		return nil, invalid("signature of %d bytes, limit %d", len(e.Sig), MaxSignatureLen)
	}
	b, err := e.SignedMessage()
	if err != nil {
		return nil, err
	}
	bb := cryptobyte.NewBuilder(b)
	bb.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Sig) })
	return bb.Bytes()
}

// Sign sets e.Sig to s's signature over e.SignedMessage() with context "candor/envelope".
func Sign(e *Envelope, s Signer) error {
	msg, err := e.SignedMessage()
	if err != nil {
		return err
	}
	sig, err := s.Sign(SignatureContext, msg)
	if err != nil {
		return fmt.Errorf("envelope: signing: %w", err)
	}
	if len(sig) == 0 || len(sig) > MaxSignatureLen {
		return invalid("signature of %d bytes", len(sig))
	}
	e.Sig = sig
	return nil
}

// Verify checks e.Sig with v. It returns an error wrapping ErrUnsigned or ErrBadSignature.
// The caller picks v from e.Reviewer and must still check Seq against the last one it accepted.
func Verify(e *Envelope, v Verifier) error {
	if len(e.Sig) == 0 {
		return ErrUnsigned
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return err
	}
	if err := v.Verify(SignatureContext, msg, e.Sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

// Parse decodes a signed envelope. It checks the encoding and the field rules, not the
// signature: call Verify.
func Parse(b []byte) (*Envelope, error) {
	e, err := parseShared(b)
	if err != nil {
		return nil, err
	}
	if e.Body != nil {
		e.Body = bytes.Clone(e.Body)
	}
	return e, nil
}

// parseShared is Parse with e.Body pointing into b (OutboxReader: a reply of 64 MiB is not held
// twice).
func parseShared(b []byte) (*Envelope, error) {
	if len(b) < len(magic)+1 || string(b[:len(magic)]) != magic {
		return nil, ErrVersion
	}
	if v := b[len(magic)]; v != Version {
		return nil, fmt.Errorf("%w: version %d", ErrVersion, v)
	}
	s := cryptobyte.String(b[len(magic)+1:])
	e := &Envelope{Version: Version}
	flags, err := readFields(&s, e)
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, malformed("%d bytes of trailing data", len(s))
	}
	if flags[0] > 1 || flags[1] > 1 {
		return nil, malformed("hold or feedback byte out of range")
	}
	if len(e.Sig) == 0 {
		return nil, ErrUnsigned
	}
	if len(e.Sig) > MaxSignatureLen {
		return nil, malformed("signature of %d bytes, limit %d", len(e.Sig), MaxSignatureLen)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// readFields reads every field after the version byte into e and returns the raw hold and
// feedback bytes.
func readFields(s *cryptobyte.String, e *Envelope) ([2]uint8, error) {
	var kind, hold, feedback uint8
	var dayBits, bodyLen uint32
	var reviewer, status, outcome, target, sig cryptobyte.String
	var id, commitment []byte
	if !s.ReadUint8(&kind) || !s.ReadUint8LengthPrefixed(&reviewer) || !s.ReadUint64(&e.Seq) ||
		!s.ReadBytes(&id, 16) || !s.ReadUint32(&dayBits) || !s.ReadUint8LengthPrefixed(&status) ||
		!s.ReadUint8(&hold) || !s.ReadUint64(&e.Cursor) || !s.ReadUint64(&e.TreeSize) ||
		!s.ReadUint8LengthPrefixed(&outcome) || !s.ReadUint8(&feedback) ||
		!s.ReadUint8LengthPrefixed(&target) || !s.ReadBytes(&commitment, 32) || !s.ReadUint32(&bodyLen) {
		return [2]uint8{}, malformed("truncated")
	}
	if bodyLen > MaxBodyLen {
		return [2]uint8{}, malformed("body of %d bytes, limit %d", bodyLen, MaxBodyLen)
	}
	var body []byte
	if !s.ReadBytes(&body, int(bodyLen)) || !s.ReadUint16LengthPrefixed(&sig) {
		return [2]uint8{}, malformed("truncated")
	}
	e.Kind, e.Reviewer, e.Status, e.Hold = Kind(kind), string(reviewer), string(status), hold == 1
	e.Outcome, e.Feedback, e.Target = string(outcome), feedback == 1, string(target)
	e.Commitment = [32]byte(commitment)
	e.Day = day.Day(int32(dayBits))
	copy(e.Case[:], id)
	if len(body) > 0 {
		e.Body = body // Parse clones it; parseShared keeps it in the caller's buffer
	}
	if len(sig) > 0 {
		e.Sig = bytes.Clone(sig)
	}
	return [2]uint8{hold, feedback}, nil
}
