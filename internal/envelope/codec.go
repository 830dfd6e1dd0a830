package envelope

import (
	"encoding/binary"
	"fmt"

	"candor/internal/day"
)

const magic = "candor-envelope"

// SignedMessage returns the canonical encoding of every field but Sig: the bytes the signature
// covers. It fails if e is invalid.
func (e *Envelope) SignedMessage() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(magic)+80+len(e.Reviewer)+len(e.Status)+len(e.Body))
	b = append(b, magic...)
	b = append(b, Version, byte(e.Kind), byte(len(e.Reviewer)))
	b = append(b, e.Reviewer...)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = append(b, e.Case[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(e.Day))
	b = append(b, byte(len(e.Status)))
	b = append(b, e.Status...)
	hold := byte(0)
	if e.Hold {
		hold = 1
	}
	b = append(b, hold)
	b = binary.BigEndian.AppendUint64(b, e.Cursor)
	b = binary.BigEndian.AppendUint64(b, e.TreeSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Body)))
	return append(b, e.Body...), nil
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
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Sig)))
	return append(b, e.Sig...), nil
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
	if len(b) < len(magic)+1 || string(b[:len(magic)]) != magic {
		return nil, ErrVersion
	}
	if v := b[len(magic)]; v != Version {
		return nil, fmt.Errorf("%w: version %d", ErrVersion, v)
	}
	d := decoder{b: b[len(magic)+1:]}
	e := &Envelope{Version: Version}
	e.Kind = Kind(d.byte())
	e.Reviewer = string(d.next(int(d.byte())))
	e.Seq = d.uint64()
	copy(e.Case[:], d.next(16))
	e.Day = day.Day(int32(d.uint32()))
	e.Status = string(d.next(int(d.byte())))
	hold := d.byte()
	e.Hold = hold == 1
	e.Cursor = d.uint64()
	e.TreeSize = d.uint64()
	if n := d.uint32(); n > MaxBodyLen {
		return nil, malformed("body of %d bytes, limit %d", n, MaxBodyLen)
	} else if n > 0 {
		e.Body = append([]byte(nil), d.next(int(n))...)
	}
	if n := d.uint16(); n > 0 {
		e.Sig = append([]byte(nil), d.next(int(n))...)
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	if hold > 1 {
		return nil, malformed("hold byte %d", hold)
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

// decoder reads fields from a byte slice; the first shortfall is remembered.
type decoder struct {
	b     []byte
	short bool
}

func (d *decoder) next(n int) []byte {
	if d.short || n > len(d.b) {
		d.short = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.next(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if v := d.next(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if v := d.next(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if v := d.next(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) done() error {
	if d.short {
		return malformed("truncated")
	}
	if len(d.b) != 0 {
		return malformed("%d bytes of trailing data", len(d.b))
	}
	return nil
}
