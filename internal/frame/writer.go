package frame

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Writer writes a frame stream. The zero value is not usable; call [NewWriter]. A Writer is not
// safe for concurrent use. The first error is sticky: every later call returns it.
type Writer struct {
	dst    io.Writer
	n      int64 // bytes written to dst
	parts  int
	cur    *partWriter
	closed bool
	err    error
	buf    []byte // pending body bytes of the current part, < ChunkSize
	hdr    [9]byte
}

// NewWriter returns a Writer that writes a frame stream to dst. Nothing is written until the
// first Part or Close.
func NewWriter(dst io.Writer) *Writer {
	return &Writer{dst: dst}
}

// Part finishes the current part, if any, and starts a new one. The returned writer takes the
// body; it is valid until the next Part or Close. For KindMessage and KindAnswers the body must be
// valid UTF-8 (checked as it is written; an incomplete rune at the end is reported by the next
// Part or Close).
func (w *Writer) Part(kind Kind, name, contentType string) (io.Writer, error) {
	if err := w.finishPart(); err != nil {
		return nil, err
	}
	if err := checkHeader(kind, name, contentType); err != nil {
		return nil, err
	}
	if w.parts >= MaxParts {
		return nil, fmt.Errorf("%w: limit %d", ErrTooManyParts, MaxParts)
	}
	w.parts++
	rec := make([]byte, 0, 3+len(name)+len(contentType))
	rec = append(rec, tagPart, byte(kind), byte(len(name)))
	rec = append(rec, name...)
	rec = append(rec, byte(len(contentType)))
	rec = append(rec, contentType...)
	if err := w.write(rec); err != nil {
		return nil, err
	}
	w.cur = &partWriter{w: w, text: kind.text()}
	return w.cur, nil
}

// Close finishes the current part, writes the end marker and the padding. It does not close dst.
// Calling Close again returns ErrClosed.
func (w *Writer) Close() error {
	if err := w.finishPart(); err != nil {
		return err
	}
	w.closed = true
	if err := w.write([]byte{tagEnd}); err != nil {
		return err
	}
	var zero [4096]byte
	for pad := PaddedSize(w.n) - w.n; pad > 0; {
		k := min(pad, int64(len(zero)))
		if err := w.write(zero[:k]); err != nil {
			return err
		}
		pad -= k
	}
	w.err = ErrClosed
	return nil
}

// finishPart flushes and ends the current part; it also checks that w is usable.
func (w *Writer) finishPart() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	if w.n == 0 {
		if err := w.write([]byte(magic)); err != nil {
			return err
		}
	}
	p := w.cur
	if p == nil {
		return nil
	}
	w.cur = nil
	p.done = true
	if p.text {
		if err := p.check.close(); err != nil {
			w.err = err
			return err
		}
	}
	if err := w.flushChunk(w.buf); err != nil {
		return err
	}
	w.buf = w.buf[:0]
	w.hdr[0] = tagTrailer
	binary.BigEndian.PutUint64(w.hdr[1:], uint64(p.length))
	return w.write(w.hdr[:9])
}

func (w *Writer) flushChunk(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	w.hdr[0] = tagChunk
	binary.BigEndian.PutUint32(w.hdr[1:5], uint32(len(b)))
	if err := w.write(w.hdr[:5]); err != nil {
		return err
	}
	return w.write(b)
}

func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	n, err := w.dst.Write(b)
	w.n += int64(n)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("frame: write: %w", err)
	}
	return w.err
}

// partWriter is the body writer of one part.
type partWriter struct {
	w      *Writer
	text   bool
	check  textCheck
	length int64
	done   bool
}

// Write appends p to the part's body. Full chunks are written through at once; at most one
// partial chunk is buffered.
func (p *partWriter) Write(b []byte) (int, error) {
	w := p.w
	if p.done {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if p.text {
		if err := p.check.write(b); err != nil {
			w.err = err
			return 0, err
		}
	}
	n := len(b)
	for len(b) > 0 {
		if len(w.buf) == 0 && len(b) >= ChunkSize {
			if err := w.flushChunk(b[:ChunkSize]); err != nil {
				return n - len(b), err
			}
			b = b[ChunkSize:]
			p.length += ChunkSize
			continue
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, ChunkSize)
		}
		k := min(ChunkSize-len(w.buf), len(b))
		w.buf = append(w.buf, b[:k]...)
		b = b[k:]
		p.length += int64(k)
		if len(w.buf) == ChunkSize {
			if err := w.flushChunk(w.buf); err != nil {
				return n - len(b), err
			}
			w.buf = w.buf[:0]
		}
	}
	return n, nil
}
