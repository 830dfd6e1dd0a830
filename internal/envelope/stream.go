package envelope

import (
	"encoding/binary"
	"fmt"
	"io"
)

// OutboxReader reads an outbox one envelope at a time, so that a reader of a large outbox holds one
// envelope in memory, not all of them (the server streams a push through it and verifies each
// envelope as it arrives). It applies ReadOutbox's rules: at most maxEnvelopes envelopes and
// maxBytes bytes in all, strictly increasing Seq per reviewer, nothing after the last envelope.
type OutboxReader struct {
	src   io.Reader
	lr    *io.LimitedReader
	count uint32
	read  uint32
	last  map[string]uint64
	done  bool
}

// NewOutboxReader reads the outbox's magic line and envelope count from r.
func NewOutboxReader(r io.Reader, maxEnvelopes int, maxBytes int64) (*OutboxReader, error) {
	lr := &io.LimitedReader{R: r, N: maxBytes}
	var head [len(outboxMagic) + 4]byte
	if _, err := io.ReadFull(lr, head[:]); err != nil {
		if lr.N == 0 {
			return nil, ErrTooLarge
		}
		return nil, fmt.Errorf("%w: %w", ErrVersion, readErr(err))
	}
	if string(head[:len(outboxMagic)]) != outboxMagic {
		return nil, ErrVersion
	}
	count := binary.BigEndian.Uint32(head[len(outboxMagic):])
	if uint64(count) > uint64(max(maxEnvelopes, 0)) {
		return nil, fmt.Errorf("%w: %d envelopes, limit %d", ErrTooLarge, count, maxEnvelopes)
	}
	return &OutboxReader{src: r, lr: lr, count: count, last: map[string]uint64{}}, nil
}

// Count returns the number of envelopes the outbox announces.
func (o *OutboxReader) Count() int { return int(o.count) }

// Next returns the next envelope and the bytes its signature covers (a slice of the envelope's
// encoding, equal to e.SignedMessage(): verify with VerifySigned without encoding it again). The
// envelope's Body points into the same buffer: nothing of an envelope is held twice. After
// the last envelope it checks that nothing follows and returns io.EOF. Signatures are not verified.
func (o *OutboxReader) Next() (*Envelope, []byte, error) {
	if o.read == o.count {
		if !o.done {
			o.done = true
			if err := checkEOF(o.src); err != nil {
				return nil, nil, err
			}
		}
		return nil, nil, io.EOF
	}
	o.read++
	b, err := readFrame(o.lr)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope %d of %d: %w", o.read, o.count, err)
	}
	e, err := parseShared(b)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope %d of %d: %w", o.read, o.count, err)
	}
	if s, ok := o.last[e.Reviewer]; ok && e.Seq <= s {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, invalid("envelope %d: seq %d does not follow %d", o.read, e.Seq, s))
	}
	o.last[e.Reviewer] = e.Seq
	// The encoding is the signed message, then the 2-byte signature length and the signature.
	return e, b[:len(b)-2-len(e.Sig)], nil
}

// VerifySigned checks e.Sig over signed, which must be the bytes OutboxReader.Next returned with
// e. It returns an error wrapping ErrUnsigned or ErrBadSignature.
func VerifySigned(e *Envelope, signed []byte, v Verifier) error {
	if len(e.Sig) == 0 {
		return ErrUnsigned
	}
	if err := v.Verify(SignatureContext, signed, e.Sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

// readFrame reads one length-prefixed envelope encoding. It allocates at most 1 MiB before that
// much has arrived, then the announced length at once (not doubling a buffer as it grows), so a
// false length costs the sender as many bytes as the reader allocates, and a true one costs the
// reader its length, once.
func readFrame(lr *io.LimitedReader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(lr, hdr[:]); err != nil {
		return nil, limitErr(lr, err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxBodyLen+1024+MaxSignatureLen {
		return nil, malformed("envelope of %d bytes", n)
	}
	if int64(n) > lr.N {
		return nil, fmt.Errorf("%w: envelope of %d bytes", ErrTooLarge, n)
	}
	const first = 1 << 20
	b := make([]byte, min(int(n), first))
	if _, err := io.ReadFull(lr, b); err != nil {
		return nil, limitErr(lr, err)
	}
	if int(n) > first {
		b = append(make([]byte, 0, n), b...)
		b = b[:n]
		if _, err := io.ReadFull(lr, b[first:]); err != nil {
			return nil, limitErr(lr, err)
		}
	}
	return b, nil
}
