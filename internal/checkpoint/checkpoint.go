// Package checkpoint owns the case log's checkpoints as C2SP signed notes: the tlog-checkpoint text,
// the log's two signature lines (Ed25519, which witnesses verify, and ML-DSA-65, which Candor's
// inboxes also require), and the witnesses' tlog-cosignature lines.
//
// A signed checkpoint looks like this (signatures shortened):
//
//	candor.invalid/3mfq2xkw7tq5y4ue/epoch-1
//	42
//	nND/nri/U0xuHUrYSy0HtMeal2vzD9V4k/BO79C+QeI=
//
//	— candor.invalid/3mfq2xkw7tq5y4ue/epoch-1 Az3grlgt…
//	— candor.invalid/3mfq2xkw7tq5y4ue/epoch-1 opLqBQsR…
//	— witness.example/w1 CMp+6LWB…
//
// The log signs with a [Signer]; a reader opens a note with [Open], giving the log's [LogVerifier],
// the witnesses' cosignature verifiers ([NewCosignatureVerifier]) and a quorum. Open accepts a note
// only if both log signatures verify and at least quorum distinct known witnesses cosigned it;
// signatures from unknown keys are ignored and not counted. docs/protocol.md ("Witnessed
// checkpoints") specifies every byte.
package checkpoint

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// Limits of a checkpoint and of a signed note.
const (
	MaxOriginLen     = 255
	MaxExtensions    = 16
	MaxExtensionLen  = 255
	MaxNoteSize      = 32 << 10 // a note with both log lines and 100 cosignatures stays below 16 KiB
	MaxSignatureLine = 8 << 10
)

// Errors returned by this package. Errors are wrapped with details; test with errors.Is.
var (
	// ErrMalformed: the note or checkpoint text breaks the format (bad line, encoding or size).
	ErrMalformed = errors.New("checkpoint: malformed")
	// ErrTooLarge: the note is longer than MaxNoteSize.
	ErrTooLarge = errors.New("checkpoint: note too large")
	// ErrBadSignature: a log signature is missing or a signature from a known key does not verify
	// (a forged or altered note).
	ErrBadSignature = errors.New("checkpoint: bad signature")
	// ErrQuorum: fewer known witnesses cosigned the checkpoint than the quorum asks.
	ErrQuorum = errors.New("checkpoint: too few witness cosignatures")
	// ErrInvalid: a value to encode breaks a rule of the format.
	ErrInvalid = errors.New("checkpoint: invalid value")
	// ErrKey: a key string is malformed, of an unknown type, or its key ID does not match.
	ErrKey = errors.New("checkpoint: bad key")
)

// Checkpoint is a tree head in the C2SP tlog-checkpoint format.
type Checkpoint struct {
	// Origin names the log: 1..255 bytes of printable ASCII without space or '+' (it is also the
	// log's note key name). Candor's convention is "candor.invalid/<installation-id>/epoch-<N>".
	Origin string
	Size   int64
	Hash   tlog.Hash
	// Extensions are optional further lines: each 1..255 bytes of UTF-8 without control
	// characters; at most MaxExtensions. Nil when there are none.
	Extensions []string
}

// Validate reports whether c can be encoded.
func (c *Checkpoint) Validate() error {
	if !ValidOrigin(c.Origin) {
		return fmt.Errorf("%w: origin must be 1..%d bytes of printable ASCII without space or '+'", ErrInvalid, MaxOriginLen)
	}
	if c.Size < 0 {
		return fmt.Errorf("%w: negative tree size", ErrInvalid)
	}
	if len(c.Extensions) > MaxExtensions {
		return fmt.Errorf("%w: %d extension lines, limit %d", ErrInvalid, len(c.Extensions), MaxExtensions)
	}
	for i, e := range c.Extensions {
		if !validExtension(e) {
			return fmt.Errorf("%w: extension line %d must be 1..%d bytes of UTF-8 without control characters", ErrInvalid, i+1, MaxExtensionLen)
		}
	}
	return nil
}

// ValidOrigin reports whether s is a valid origin (and note key name): 1..255 bytes of printable
// ASCII (0x21..0x7e) other than '+'.
func ValidOrigin(s string) bool {
	if s == "" || len(s) > MaxOriginLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == '+' {
			return false
		}
	}
	return true
}

func validExtension(s string) bool {
	if s == "" || len(s) > MaxExtensionLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Text returns the note text of c: origin, size, base64 root hash and the extension lines, each
// ending in a newline.
func (c *Checkpoint) Text() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b := fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
	for _, e := range c.Extensions {
		b = append(append(b, e...), '\n')
	}
	return b, nil
}

// ParseText decodes a checkpoint's note text (without signatures). It accepts only the canonical
// encoding: Text(ParseText(b)) == b.
func ParseText(b []byte) (*Checkpoint, error) {
	if len(b) > MaxNoteSize {
		return nil, ErrTooLarge
	}
	s := string(b)
	if !strings.HasSuffix(s, "\n") {
		return nil, malformed("checkpoint text does not end in a newline")
	}
	lines := strings.Split(s[:len(s)-1], "\n")
	if len(lines) < 3 {
		return nil, malformed("checkpoint text has %d lines, want at least 3", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return nil, malformed("tree size is not a canonical decimal")
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return nil, malformed("root hash is not canonical base64 of %d bytes", tlog.HashSize)
	}
	c := &Checkpoint{Origin: lines[0], Size: size, Hash: tlog.Hash(h)}
	if len(lines) > 3 {
		c.Extensions = lines[3:]
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return c, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
