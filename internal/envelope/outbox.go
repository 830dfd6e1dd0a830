package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const outboxMagic = "candor-outbox/v1\n"

// IsOutbox reports whether b, the start of a file, is the start of an outbox file (so that a tool
// given one by mistake can say what it is).
func IsOutbox(b []byte) bool { return bytes.HasPrefix(b, []byte(outboxMagic)) }

// WriteOutbox writes an outbox file holding envs, which must all be signed and valid, with
// strictly increasing Seq per reviewer.
func WriteOutbox(w io.Writer, envs []*Envelope) error {
	if err := checkSeqs(envs); err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(envs)))
	if _, err := io.WriteString(w, outboxMagic); err != nil {
		return fmt.Errorf("envelope: writing outbox: %w", err)
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("envelope: writing outbox: %w", err)
	}
	for i, e := range envs {
		b, err := e.Marshal()
		if err != nil {
			return fmt.Errorf("envelope %d: %w", i, err)
		}
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		if _, err := w.Write(append(hdr[:], b...)); err != nil {
			return fmt.Errorf("envelope: writing outbox: %w", err)
		}
	}
	return nil
}

// ReadOutbox reads a whole outbox file from r. It refuses (ErrTooLarge) more than maxEnvelopes
// envelopes or more than maxBytes bytes in all, before reading them, and allocates in proportion
// to the bytes actually read. Signatures are not verified: call Verify on each envelope. To hold
// one envelope at a time, use OutboxReader.
func ReadOutbox(r io.Reader, maxEnvelopes int, maxBytes int64) ([]*Envelope, error) {
	or, err := NewOutboxReader(r, maxEnvelopes, maxBytes)
	if err != nil {
		return nil, err
	}
	envs := make([]*Envelope, 0, min(or.Count(), 1024))
	for {
		e, _, err := or.Next()
		if err == io.EOF {
			return envs, nil
		}
		if err != nil {
			return nil, err
		}
		envs = append(envs, e)
	}
}

// checkEOF reports trailing data after the last envelope.
func checkEOF(r io.Reader) error {
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if n > 0 {
		return malformed("data after the last envelope")
	}
	if err != io.EOF {
		return fmt.Errorf("envelope: reading outbox: %w", err)
	}
	return nil
}

func limitErr(lr *io.LimitedReader, err error) error {
	if lr.N == 0 && errors.Is(err, io.EOF) {
		return ErrTooLarge
	}
	return readErr(err)
}

func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return malformed("truncated")
	}
	return fmt.Errorf("envelope: reading outbox: %w", err)
}

func checkSeqs(envs []*Envelope) error {
	last := make(map[string]uint64)
	for i, e := range envs {
		if s, ok := last[e.Reviewer]; ok && e.Seq <= s {
			return invalid("envelope %d: seq %d does not follow %d", i+1, e.Seq, s)
		}
		last[e.Reviewer] = e.Seq
	}
	return nil
}
