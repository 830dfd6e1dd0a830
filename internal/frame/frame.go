// Package frame is the plaintext format inside every sealed submission (a report, a follow-up
// message or a reply): one stream holding several parts — the message text, the questionnaire
// answers and each file — padded so that its length reveals only a Padmé bucket.
//
// Both directions stream in constant memory and need no lengths in advance: [Writer] buffers at
// most one 64 KiB chunk, [Reader] none.
//
// # Format (version 1)
//
// All integers are big-endian.
//
//	stream  = magic *part end padding
//	magic   = "candor-frame/v1\n"                     (16 bytes)
//	part    = 0x01 kind namelen name ctypelen ctype     part header
//	          *chunk
//	          0x03 length                               part trailer
//	kind    = 0x01 message | 0x02 answers | 0x03 file   (1 byte)
//	namelen = 1 byte (0..255); name: valid UTF-8, no control characters (C0, DEL, C1)
//	ctypelen= 1 byte (0..127); ctype: printable ASCII (0x20..0x7e)
//	chunk   = 0x02 n(4 bytes, 1..65536) n bytes of body
//	length  = 8 bytes: the part's total body length, the sum of its chunk lengths
//	end     = 0x04
//	padding = zero bytes, so that the stream's total length is PaddedSize(length up to and including end)
//
// Encodings are canonical, and the reader rejects anything else: every chunk but the last of a
// part holds exactly 65536 bytes; an empty part has no chunk; the padding length is exact and every
// padding byte is zero; nothing follows it. A stream holds at most [MaxParts] parts.
//
// The bodies of message and answers parts are UTF-8 text (checked both ways). Answers are the
// category questionnaire's answers, one "label: value" line per question, each line ending in
// "\n"; a label holds no ':' and no line break, and line breaks inside a value are written as a
// "\n" followed by a single space (continuation line, as in mail headers). Only the UTF-8 rule is
// enforced here; the shape of the lines is the questionnaire code's contract.
package frame

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Kind is the kind of a part.
type Kind uint8

// Part kinds. The values are part of the format.
const (
	KindMessage Kind = 1 // the reporter's or reviewer's message: UTF-8 text
	KindAnswers Kind = 2 // questionnaire answers: UTF-8 "label: value" lines
	KindFile    Kind = 3 // an attached file: any bytes
)

func (k Kind) valid() bool { return k >= KindMessage && k <= KindFile }

func (k Kind) text() bool { return k == KindMessage || k == KindAnswers }

// String returns "message", "answers", "file" or "kind(N)".
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindAnswers:
		return "answers"
	case KindFile:
		return "file"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Limits of the format.
const (
	MaxNameLen        = 255   // bytes of a part name
	MaxContentTypeLen = 127   // bytes of a content type
	MaxParts          = 1000  // parts per stream
	ChunkSize         = 65536 // bytes of a full chunk; the largest chunk
)

const magic = "candor-frame/v1\n"

// Record tags.
const (
	tagPart    = 0x01
	tagChunk   = 0x02
	tagTrailer = 0x03
	tagEnd     = 0x04
)

// Errors returned by this package. Errors are wrapped with details; test with errors.Is.
var (
	// ErrVersion: the stream does not start with the version 1 magic.
	ErrVersion = errors.New("frame: not a version 1 frame stream")
	// ErrTruncated: the stream ended before its end marker or inside a record or the padding.
	ErrTruncated = errors.New("frame: truncated stream")
	// ErrMalformed: an unknown tag or kind, an out-of-range or non-canonical length, or a
	// trailer that does not match the body.
	ErrMalformed = errors.New("frame: malformed stream")
	// ErrPadding: the padding is not zero, too short or too long.
	ErrPadding = errors.New("frame: bad padding")
	// ErrInvalidName: a part name or content type breaks the rules above.
	ErrInvalidName = errors.New("frame: invalid part name or content type")
	// ErrInvalidText: the body of a text part is not valid UTF-8.
	ErrInvalidText = errors.New("frame: text part is not valid UTF-8")
	// ErrTooManyParts: more than MaxParts parts.
	ErrTooManyParts = errors.New("frame: too many parts")
	// ErrClosed: the Writer or the part writer was used after Close or after the next Part.
	ErrClosed = errors.New("frame: use of a finished writer")
)

// checkHeader reports whether kind, name and content type are acceptable.
func checkHeader(kind Kind, name, contentType string) error {
	if !kind.valid() {
		return fmt.Errorf("%w: unknown kind %d", ErrMalformed, uint8(kind))
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: name is %d bytes, limit %d", ErrInvalidName, len(name), MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: name is not valid UTF-8", ErrInvalidName)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: name holds a control character", ErrInvalidName)
		}
	}
	if len(contentType) > MaxContentTypeLen {
		return fmt.Errorf("%w: content type is %d bytes, limit %d", ErrInvalidName, len(contentType), MaxContentTypeLen)
	}
	for i := 0; i < len(contentType); i++ {
		if c := contentType[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: content type holds a byte outside printable ASCII", ErrInvalidName)
		}
	}
	return nil
}

// PaddedSize returns the Padmé bucket for a length of n bytes (Nikitin et al., "Reducing Metadata
// Leakage from Encrypted Files and Communication with PURBs", PETS 2019): n rounded up so that only
// its ⌊log2 ⌊log2 n⌋⌋+1 most significant bits may be non-zero.
//
// Overhead bounds (tested): PaddedSize(n) ≥ n; PaddedSize(n) − n ≤ 11.63 % of n for every n
// (the worst case is n = 129, padded to 144), below 6.3 % for n ≥ 256 and below 3.2 % for
// n ≥ 64 KiB; it never doubles a length. A bucket reveals O(log log n) bits of n. Values below 2
// are returned unchanged, as are negative values.
func PaddedSize(n int64) int64 {
	if n < 2 {
		return n
	}
	e := bitLen(uint64(n)) - 1     // ⌊log2 n⌋
	s := bitLen(uint64(e)) - 1 + 1 // ⌊log2 e⌋ + 1
	last := e - s
	mask := int64(1)<<last - 1
	if n > (1<<63-1)-mask {
		return n // would overflow; such lengths cannot occur
	}
	return (n + mask) &^ mask
}

func bitLen(x uint64) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// textCheck validates UTF-8 across arbitrary write boundaries, holding back at most three bytes
// of an incomplete rune.
type textCheck struct {
	pend [utf8.UTFMax]byte
	n    int
}

func (c *textCheck) write(p []byte) error {
	for c.n > 0 && len(p) > 0 {
		c.pend[c.n] = p[0]
		c.n++
		p = p[1:]
		if utf8.FullRune(c.pend[:c.n]) {
			r, size := utf8.DecodeRune(c.pend[:c.n])
			if (r == utf8.RuneError && size <= 1) || size != c.n {
				return ErrInvalidText
			}
			c.n = 0
		}
	}
	if len(p) == 0 {
		return nil
	}
	i := len(p) - 1
	for i > 0 && i > len(p)-utf8.UTFMax && !utf8.RuneStart(p[i]) {
		i--
	}
	if tail := p[i:]; !utf8.FullRune(tail) {
		c.n = copy(c.pend[:], tail)
		p = p[:i]
	}
	if !utf8.Valid(p) {
		return ErrInvalidText
	}
	return nil
}

// close reports an error if an incomplete rune is pending.
func (c *textCheck) close() error {
	if c.n != 0 {
		return ErrInvalidText
	}
	return nil
}
