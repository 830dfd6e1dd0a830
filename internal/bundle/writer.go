package bundle

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// Writer writes a bundle. Create it with [NewWriter]; call the record methods in the order of
// the format, then Close. It is not safe for concurrent use; its first error is sticky.
type Writer struct {
	dst      io.Writer
	h        hash.Hash
	ord      order
	started  bool
	blobLeft int64
	closed   bool
	err      error
}

// NewWriter returns a Writer that writes a bundle to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{dst: w, h: sha256.New()}
}

// Header writes the Header record (first).
func (w *Writer) Header(h *Header) error { return w.record(h) }

// Checkpoint writes the signed checkpoint note (second); its origin must match the header's.
func (w *Writer) Checkpoint(note []byte) error {
	c, err := NewCheckpoint(note)
	if err != nil {
		return err
	}
	return w.record(c)
}

// Alarm writes a witness's refusal the server recorded (after the checkpoint).
func (w *Writer) Alarm(a *Alarm) error { return w.record(a) }

// SealedKey writes the reviewer's sealed addressing key (at most once, before the leaf list).
func (w *Writer) SealedKey(k *SealedKey) error { return w.record(k) }

// LeafList writes the leaves from the inbox's tree to the checkpoint's (exactly once, before the
// cases).
func (w *Writer) LeafList(l *LeafList) error { return w.record(l) }

// Case writes a case's metadata.
func (w *Writer) Case(c *Case) error { return w.record(c) }

// Change writes a reviewer's signed status change or hold (after the cases, before the cards).
func (w *Writer) Change(c *Change) error { return w.record(c) }

// Card writes a reviewer's card (after the cases, before the case index).
func (w *Writer) Card(c *Card) error { return w.record(c) }

// CaseIndex writes the list of every case the reviewer is on (exactly once, after the cards).
func (w *Writer) CaseIndex(x *CaseIndex) error { return w.record(x) }

// Blob writes a blob record; the returned writer takes exactly b.Size payload bytes (more is
// an error; fewer is reported by the next record or Close).
func (w *Writer) Blob(b *Blob) (io.Writer, error) {
	if err := w.record(b); err != nil {
		return nil, err
	}
	w.blobLeft = b.Size
	return payloadWriter{w}, nil
}

func (w *Writer) record(rec Record) error {
	if err := w.ready(); err != nil {
		return err
	}
	p, err := rec.marshal()
	if err != nil {
		return err
	}
	if err := w.ord.check(rec); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return w.writeRecord(rec.Type(), p)
}

func (w *Writer) ready() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("%w: writer closed", ErrState)
	}
	if w.blobLeft != 0 {
		w.err = fmt.Errorf("%w: %d payload bytes of the last blob missing", ErrState, w.blobLeft)
		return w.err
	}
	if !w.started {
		w.started = true
		return w.write([]byte(magic))
	}
	return nil
}

func (w *Writer) writeRecord(t RecordType, p []byte) error {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(p))
	b = append(b, byte(t))
	b = binary.AppendUvarint(b, uint64(len(p)))
	return w.write(append(b, p...))
}

// Close writes the End record: the hash of everything written so far, signed by s with context
// "candor/bundle". It does not close the underlying writer.
func (w *Writer) Close(s Signer) error {
	if err := w.ready(); err != nil {
		return err
	}
	if !w.ord.canEnd() {
		return fmt.Errorf("%w: Close before the leaf list and the case index", ErrState)
	}
	w.closed = true
	sum := w.h.Sum(nil)
	sig, err := s.Sign(SignatureContext, sum)
	if err != nil {
		return fmt.Errorf("bundle: signing: %w", err)
	}
	if len(sig) == 0 || len(sig) > MaxSignatureLen {
		return invalid("signature of %d bytes", len(sig))
	}
	return w.writeRecord(TypeEnd, append(sum, sig...))
}

func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	w.h.Write(b)
	if _, err := w.dst.Write(b); err != nil {
		w.err = fmt.Errorf("bundle: write: %w", err)
	}
	return w.err
}

type payloadWriter struct{ w *Writer }

func (p payloadWriter) Write(b []byte) (int, error) {
	w := p.w
	if w.err != nil {
		return 0, w.err
	}
	if int64(len(b)) > w.blobLeft {
		w.err = fmt.Errorf("%w: blob payload longer than its size", ErrState)
		return 0, w.err
	}
	if err := w.write(b); err != nil {
		return 0, err
	}
	w.blobLeft -= int64(len(b))
	return len(b), nil
}
