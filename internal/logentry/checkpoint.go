package logentry

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

const checkpointHeader = "candor-log/v1\n"

// Limits of a checkpoint.
const (
	MaxOriginLen    = 255
	MaxSignatureLen = 8192
)

// Checkpoint is a tree head: the log's size and root hash.
type Checkpoint struct {
	// Origin names the log (1..255 bytes of printable ASCII without space), e.g. the onion address.
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// Validate reports whether c can be encoded.
func (c *Checkpoint) Validate() error {
	if c.Origin == "" || !printable(c.Origin, 0x21, MaxOriginLen) {
		return invalid("origin must be 1..%d bytes of printable ASCII without space", MaxOriginLen)
	}
	if c.Size < 0 {
		return invalid("negative tree size")
	}
	return nil
}

// Marshal returns the checkpoint text.
func (c *Checkpoint) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "%s%s\n%d\n%s\n", checkpointHeader, c.Origin, c.Size, c.Hash), nil
}

// ParseCheckpoint decodes a checkpoint text (without signature).
func ParseCheckpoint(b []byte) (*Checkpoint, error) {
	if !bytes.HasPrefix(b, []byte(checkpointHeader)) {
		return nil, ErrVersion
	}
	lines := strings.SplitAfter(string(b[len(checkpointHeader):]), "\n")
	if len(lines) != 4 || lines[3] != "" {
		return nil, malformed("checkpoint must have exactly four lines")
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	sizeText := strings.TrimSuffix(lines[1], "\n")
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return nil, malformed("tree size is not a canonical decimal")
	}
	hashText := strings.TrimSuffix(lines[2], "\n")
	h, err := tlog.ParseHash(hashText)
	if err != nil || h.String() != hashText {
		return nil, malformed("tree hash is not canonical base64")
	}
	c := &Checkpoint{Origin: origin, Size: size, Hash: h}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return c, nil
}

// SignedCheckpoint is a checkpoint with the server's signature over its text.
type SignedCheckpoint struct {
	Checkpoint
	Sig []byte
}

// Sign sets c.Sig to s's signature over the checkpoint text (context "candor/checkpoint").
func (c *SignedCheckpoint) Sign(s Signer) error {
	msg, err := c.Checkpoint.Marshal()
	if err != nil {
		return err
	}
	sig, err := s.Sign(SignatureContext, msg)
	if err != nil {
		return fmt.Errorf("logentry: signing checkpoint: %w", err)
	}
	if len(sig) == 0 || len(sig) > MaxSignatureLen {
		return invalid("signature of %d bytes", len(sig))
	}
	c.Sig = sig
	return nil
}

// Verify checks c.Sig with v. It returns an error wrapping ErrBadSignature if it does not verify.
func (c *SignedCheckpoint) Verify(v Verifier) error {
	msg, err := c.Checkpoint.Marshal()
	if err != nil {
		return err
	}
	if len(c.Sig) == 0 {
		return fmt.Errorf("%w: unsigned", ErrBadSignature)
	}
	if err := v.Verify(SignatureContext, msg, c.Sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

// Marshal returns the checkpoint text followed by the signature lines.
func (c *SignedCheckpoint) Marshal() ([]byte, error) {
	b, err := c.Checkpoint.Marshal()
	if err != nil {
		return nil, err
	}
	if len(c.Sig) == 0 || len(c.Sig) > MaxSignatureLen {
		return nil, invalid("signature of %d bytes (want 1..%d)", len(c.Sig), MaxSignatureLen)
	}
	b = append(b, "\nsig "...)
	b = base64.StdEncoding.AppendEncode(b, c.Sig)
	return append(b, '\n'), nil
}

// ParseSigned decodes a signed checkpoint. It does not verify the signature: call Verify.
func ParseSigned(b []byte) (*SignedCheckpoint, error) {
	if len(b) > len(checkpointHeader)+MaxOriginLen+64+MaxSignatureLen*2 {
		return nil, malformed("signed checkpoint too long")
	}
	i := bytes.Index(b, []byte("\n\nsig "))
	if i < 0 {
		if bytes.HasPrefix(b, []byte(checkpointHeader)) {
			return nil, malformed("no signature line")
		}
		return nil, ErrVersion
	}
	c, err := ParseCheckpoint(b[:i+1])
	if err != nil {
		return nil, err
	}
	rest := b[i+len("\n\nsig "):]
	if len(rest) == 0 || rest[len(rest)-1] != '\n' {
		return nil, malformed("signature line not terminated")
	}
	text := rest[:len(rest)-1]
	if bytes.ContainsAny(text, "\r\n") { // the decoder would skip them
		return nil, malformed("bad signature encoding")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(string(text))
	if err != nil || len(sig) == 0 || len(sig) > MaxSignatureLen {
		return nil, malformed("bad signature encoding")
	}
	return &SignedCheckpoint{Checkpoint: *c, Sig: sig}, nil
}
