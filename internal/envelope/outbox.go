package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const outboxMagic = "candor-outbox/v1\n"

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
// to the bytes actually read. Signatures are not verified: call Verify on each envelope.
func ReadOutbox(r io.Reader, maxEnvelopes int, maxBytes int64) ([]*Envelope, error) {
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
	envs := make([]*Envelope, 0, min(count, 1024))
	for i := uint32(0); i < count; i++ {
		e, err := readOne(lr)
		if err != nil {
			return nil, fmt.Errorf("envelope %d of %d: %w", i+1, count, err)
		}
		envs = append(envs, e)
	}
	if err := checkEOF(r); err != nil {
		return nil, err
	}
	if err := checkSeqs(envs); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return envs, nil
}

func readOne(lr *io.LimitedReader) (*Envelope, error) {
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
	var buf bytes.Buffer // grows with the data actually read, not with n
	if _, err := io.CopyN(&buf, lr, int64(n)); err != nil {
		return nil, limitErr(lr, err)
	}
	return Parse(buf.Bytes())
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
