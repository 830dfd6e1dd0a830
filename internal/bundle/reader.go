package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// Reader reads a bundle record by record. Create it with [NewReader]; it is not safe for
// concurrent use, and its first error is sticky.
//
// Nothing a Reader returns is authentic until [Reader.End] has succeeded: callers that store
// records must either verify the whole bundle first ([Verify]) or be ready to discard them.
type Reader struct {
	src      *bufio.Reader
	h        hash.Hash
	ord      order
	started  bool
	blobLeft int64
	inBlob   bool
	sum      []byte // the hash of everything before End
	sig      []byte
	done     bool // End read, hash matched, EOF checked
	err      error
}

// NewReader returns a Reader for the bundle in r. Memory use is bounded by MaxLeafListLen (the
// leaf list) and MaxRecordLen (every other record).
func NewReader(r io.Reader) *Reader {
	return &Reader{src: bufio.NewReaderSize(r, 64<<10), h: sha256.New()}
}

// Next returns the next record: *Header, *Checkpoint, *Alarm, *SealedKey, *LeafList, *Case,
// *Change, *Card, *CaseIndex or *Blob.
// After a *Blob, the Reader's Read method returns the blob's payload; Next skips any unread rest.
// After the End record has been read and its hash checked (ErrCorrupt if it does not match),
// Next returns io.EOF; then call End to check the signatures.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	if err := r.start(); err != nil {
		return nil, r.fail(err)
	}
	if r.inBlob {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
	}
	t, err := r.src.ReadByte()
	if err != nil {
		return nil, r.fail(readErr(err))
	}
	if RecordType(t) == TypeEnd {
		r.sum = r.h.Sum(nil)
	}
	r.h.Write([]byte{t})
	p, err := r.payload(maxLen(RecordType(t)))
	if err != nil {
		return nil, r.fail(err)
	}
	if RecordType(t) == TypeEnd {
		return nil, r.fail(r.end(p))
	}
	rec, err := parseRecord(RecordType(t), p)
	if err != nil {
		return nil, r.fail(err)
	}
	return rec, r.fail(r.accept(rec))
}

func (r *Reader) start() error {
	if r.started {
		return nil
	}
	r.started = true
	var m [len(magic)]byte
	if _, err := io.ReadFull(r.src, m[:]); err != nil || string(m[:]) != magic {
		return ErrVersion
	}
	r.h.Write(m[:])
	return nil
}

// accept applies the order rules to rec and remembers what later checks need.
func (r *Reader) accept(rec Record) error {
	if err := r.ord.check(rec); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if b, ok := rec.(*Blob); ok {
		r.blobLeft, r.inBlob = b.Size, true
	}
	return nil
}

// maxLen is the largest payload of a record of type t.
func maxLen(t RecordType) uint64 {
	if t == TypeLeafList {
		return MaxLeafListLen
	}
	return MaxRecordLen
}

// payload reads a record's length and payload (at most limit bytes), hashing both.
func (r *Reader) payload(limit uint64) ([]byte, error) {
	var lb [binary.MaxVarintLen64]byte
	n := 0
	for {
		c, err := r.src.ReadByte()
		if err != nil {
			return nil, readErr(err)
		}
		lb[n] = c
		n++
		if c < 0x80 {
			break
		}
		if n == 4 { // 4 bytes of 7 bits already exceed every limit
			return nil, malformed("record length too large")
		}
	}
	length, _ := binary.Uvarint(lb[:n])
	if len(binary.AppendUvarint(nil, length)) != n {
		return nil, malformed("non-minimal record length")
	}
	if length > limit {
		return nil, malformed("record of %d bytes, limit %d", length, limit)
	}
	r.h.Write(lb[:n])
	var buf bytes.Buffer // grows with the bytes actually present
	if _, err := io.CopyN(&buf, r.src, int64(length)); err != nil {
		return nil, readErr(err)
	}
	r.h.Write(buf.Bytes())
	return buf.Bytes(), nil
}

// end checks the End record and that nothing follows it.
func (r *Reader) end(p []byte) error {
	if !r.ord.canEnd() {
		return malformed("end record before the leaf list and the case index")
	}
	if len(p) < sha256.Size+1 || len(p) > sha256.Size+MaxSignatureLen {
		return malformed("end record of %d bytes", len(p))
	}
	if !bytes.Equal(p[:sha256.Size], r.sum) {
		return ErrCorrupt
	}
	if _, err := r.src.ReadByte(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("bundle: read: %w", err)
		}
		return malformed("data after the end record")
	}
	r.sig = bytes.Clone(p[sha256.Size:])
	r.done = true
	return io.EOF
}

// Read reads the current blob's payload; it returns io.EOF at its end, and 0, io.EOF when the
// last record was not a blob.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if !r.inBlob || r.blobLeft == 0 {
		r.inBlob = false
		return 0, io.EOF
	}
	if int64(len(p)) > r.blobLeft {
		p = p[:r.blobLeft]
	}
	n, err := r.src.Read(p)
	r.h.Write(p[:n])
	r.blobLeft -= int64(n)
	if err != nil {
		return n, r.fail(readErr(err))
	}
	return n, nil
}

// End checks, once Next has returned io.EOF, the bundle's signature with v (the server's key,
// which the caller must have matched against Header.ServerKey or its pinned key). It returns an
// error wrapping ErrBadSignature or ErrState. The checkpoint note's signatures are the caller's
// to check (checkpoint.Open).
func (r *Reader) End(v Verifier) error {
	if !r.done {
		return fmt.Errorf("%w: End before the whole bundle was read", ErrState)
	}
	if err := v.Verify(SignatureContext, r.sum, r.sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return fmt.Errorf("bundle: read: %w", err)
}

func (r *Reader) fail(err error) error {
	if err != nil && err != io.EOF {
		r.err = err
		r.inBlob = false
	}
	return err
}

// Verify reads the whole bundle from src, discarding blob payloads, and checks its hash and
// both signatures with v. It returns the bundle's header. The inbox runs it as a first pass
// before storing anything.
func Verify(src io.Reader, v Verifier) (*Header, error) {
	return VerifyFunc(src, func(*Header) (Verifier, error) { return v, nil })
}

// VerifyFunc is Verify with the verifier chosen from the header (e.g. after comparing
// Header.ServerKey with a pinned key, or to pin it on first use). An error from choose is
// returned as is.
func VerifyFunc(src io.Reader, choose func(*Header) (Verifier, error)) (*Header, error) {
	r := NewReader(src)
	var h *Header
	var v Verifier
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if hdr, ok := rec.(*Header); ok {
			h = hdr
			if v, err = choose(h); err != nil {
				return nil, err
			}
		}
	}
	if err := r.End(v); err != nil {
		return nil, err
	}
	return h, nil
}
