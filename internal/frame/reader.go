package frame

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Part describes one part of a stream.
type Part struct {
	Kind        Kind
	Name        string
	ContentType string
	// Length is the body length in bytes. It is set once the body has been read to io.EOF
	// (or skipped by the next call to Next) and checked against the part trailer.
	Length int64
}

// Reader reads a frame stream. It implements io.Reader for the body of the current part. The zero
// value is not usable; call [NewReader]. A Reader is not safe for concurrent use. The first error is
// sticky.
type Reader struct {
	src     *bufio.Reader
	n       int64 // bytes consumed from src
	started bool
	parts   int
	cur     *Part
	inBody  bool  // reading the current part's body
	left    int   // bytes left in the current chunk
	short   bool  // the last chunk of the current part was shorter than ChunkSize
	length  int64 // body bytes read so far
	check   textCheck
	eof     bool
	err     error
	scratch [MaxNameLen]byte
}

// NewReader returns a Reader for the frame stream in src. It reads src through a small buffer and
// never further than the end of the padding plus one byte.
func NewReader(src io.Reader) *Reader {
	return &Reader{src: bufio.NewReaderSize(src, 4096)}
}

// Next skips the rest of the current part's body (checking it) and returns the header of the next
// part. After the last part it checks the end marker and the padding up to the end of src, and
// returns io.EOF. A stream that stops early gives an error wrapping ErrTruncated.
func (r *Reader) Next() (*Part, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.eof {
		return nil, io.EOF
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	if r.cur != nil {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
	}
	tag, err := r.readByte()
	if err != nil {
		return nil, r.fail(err)
	}
	switch tag {
	case tagPart:
		return r.readHeader()
	case tagEnd:
		if err := r.padding(); err != nil {
			return nil, r.fail(err)
		}
		r.eof = true
		return nil, io.EOF
	}
	return nil, r.fail(fmt.Errorf("%w: tag 0x%02x where a part or the end was expected", ErrMalformed, tag))
}

func (r *Reader) start() error {
	if r.started {
		return nil
	}
	r.started = true
	var m [len(magic)]byte
	if err := r.readFull(m[:]); err != nil {
		if errors.Is(err, ErrTruncated) {
			return r.fail(fmt.Errorf("%w: %w", ErrVersion, err))
		}
		return r.fail(err)
	}
	if string(m[:]) != magic {
		return r.fail(ErrVersion)
	}
	return nil
}

func (r *Reader) readHeader() (*Part, error) {
	if r.parts >= MaxParts {
		return nil, r.fail(fmt.Errorf("%w: limit %d", ErrTooManyParts, MaxParts))
	}
	r.parts++
	kind, err := r.readByte()
	if err != nil {
		return nil, r.fail(err)
	}
	if !Kind(kind).valid() {
		return nil, r.fail(fmt.Errorf("%w: unknown kind %d", ErrMalformed, kind))
	}
	name, err := r.readString()
	if err != nil {
		return nil, r.fail(err)
	}
	ctype, err := r.readString()
	if err != nil {
		return nil, r.fail(err)
	}
	if err := checkHeader(Kind(kind), name, ctype); err != nil {
		return nil, r.fail(err)
	}
	r.cur = &Part{Kind: Kind(kind), Name: name, ContentType: ctype}
	r.inBody, r.left, r.short, r.length = true, 0, false, 0
	r.check = textCheck{}
	return r.cur, nil
}

func (r *Reader) readString() (string, error) {
	n, err := r.readByte()
	if err != nil {
		return "", err
	}
	b := r.scratch[:n]
	if err := r.readFull(b); err != nil {
		return "", err
	}
	return string(b), nil
}

// Read reads the body of the current part. It returns io.EOF at the end of the body, once the
// trailer has been checked; before the first part and after the end it returns 0, io.EOF.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if !r.inBody {
		return 0, io.EOF
	}
	for r.left == 0 {
		if err := r.nextChunk(); err != nil {
			return 0, err
		}
		if !r.inBody {
			return 0, io.EOF
		}
	}
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.src.Read(p)
	r.n += int64(n)
	r.left -= n
	r.length += int64(n)
	if r.cur.Kind.text() {
		if cerr := r.check.write(p[:n]); cerr != nil {
			return n, r.fail(cerr)
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, r.fail(err)
	}
	return n, nil
}

// nextChunk reads a chunk header or the part trailer.
func (r *Reader) nextChunk() error {
	tag, err := r.readByte()
	if err != nil {
		return r.fail(err)
	}
	var b [8]byte
	switch tag {
	case tagChunk:
		if err := r.readFull(b[:4]); err != nil {
			return r.fail(err)
		}
		n := binary.BigEndian.Uint32(b[:4])
		if n == 0 || n > ChunkSize {
			return r.fail(fmt.Errorf("%w: chunk of %d bytes", ErrMalformed, n))
		}
		if r.short {
			return r.fail(fmt.Errorf("%w: a short chunk is not the last of its part", ErrMalformed))
		}
		r.left, r.short = int(n), n < ChunkSize
		return nil
	case tagTrailer:
		if err := r.readFull(b[:]); err != nil {
			return r.fail(err)
		}
		if got := binary.BigEndian.Uint64(b[:]); got != uint64(r.length) {
			return r.fail(fmt.Errorf("%w: trailer says %d bytes, body has %d", ErrMalformed, got, r.length))
		}
		if r.cur.Kind.text() {
			if err := r.check.close(); err != nil {
				return r.fail(err)
			}
		}
		r.cur.Length = r.length
		r.inBody = false
		return nil
	}
	return r.fail(fmt.Errorf("%w: tag 0x%02x inside a part", ErrMalformed, tag))
}

// padding checks that exactly PaddedSize(r.n)-r.n zero bytes follow, then EOF.
func (r *Reader) padding() error {
	want := PaddedSize(r.n) - r.n
	var buf [4096]byte
	for want > 0 {
		k := min(want, int64(len(buf)))
		if err := r.readFull(buf[:k]); err != nil {
			return fmt.Errorf("%w: %w", ErrPadding, err)
		}
		for _, c := range buf[:k] {
			if c != 0 {
				return fmt.Errorf("%w: non-zero padding byte", ErrPadding)
			}
		}
		want -= k
	}
	if _, err := r.src.ReadByte(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("frame: read: %w", err)
		}
		return fmt.Errorf("%w: data after the padding", ErrPadding)
	}
	return nil
}

func (r *Reader) readByte() (byte, error) {
	c, err := r.src.ReadByte()
	if err != nil {
		return 0, readErr(err)
	}
	r.n++
	return c, nil
}

func (r *Reader) readFull(b []byte) error {
	n, err := io.ReadFull(r.src, b)
	r.n += int64(n)
	if err != nil {
		return readErr(err)
	}
	return nil
}

func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return fmt.Errorf("frame: read: %w", err)
}

func (r *Reader) fail(err error) error {
	if err == io.ErrUnexpectedEOF {
		err = ErrTruncated
	}
	r.err = err
	r.inBody = false
	return err
}
