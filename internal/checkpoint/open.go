package checkpoint

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// Verified is a checkpoint whose log signatures verified, with the witnesses that cosigned it.
type Verified struct {
	Checkpoint
	// Text is the note text that the signatures cover.
	Text []byte
	// Cosignatures are the verified cosignatures of known witnesses, one per witness key, in the
	// order of the note.
	Cosignatures []Cosignature
}

// Open verifies a signed checkpoint note: both of the log's signatures must verify, every
// signature from a known key must verify (else ErrBadSignature: the note is forged or altered),
// and at least quorum of the given witnesses must have cosigned (else ErrQuorum). Signatures from
// unknown keys are ignored and not counted. The note must be at most MaxNoteSize bytes
// (ErrTooLarge) and well formed (ErrMalformed), and its origin must be the log's.
func Open(msg []byte, log *LogVerifier, witnesses []*CosignatureVerifier, quorum int) (*Verified, error) {
	if len(msg) > MaxNoteSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(msg), MaxNoteSize)
	}
	if quorum > len(witnesses) {
		return nil, fmt.Errorf("%w: quorum %d of %d witnesses can never be met", ErrInvalid, quorum, len(witnesses))
	}
	known, err := verifierList(log, witnesses)
	if err != nil {
		return nil, err
	}
	n, err := note.Open(msg, known)
	if err != nil {
		return nil, openError(err)
	}
	if !signedBy(n, log.ed) || !signedBy(n, log.ml) {
		return nil, fmt.Errorf("%w: the note lacks the log's Ed25519 or ML-DSA-65 signature", ErrBadSignature)
	}
	c, err := ParseText([]byte(n.Text))
	if err != nil {
		return nil, err
	}
	if c.Origin != log.Origin() {
		return nil, fmt.Errorf("%w: checkpoint origin %q is not the log's %q", ErrMalformed, c.Origin, log.Origin())
	}
	v := &Verified{Checkpoint: *c, Text: []byte(n.Text)}
	for _, s := range n.Sigs {
		if isLogKey(log, s) {
			continue
		}
		v.Cosignatures = append(v.Cosignatures, Cosignature{Witness: s.Name, KeyHash: s.Hash, Time: cosignatureTime(s.Base64)})
	}
	if len(v.Cosignatures) < quorum {
		return nil, fmt.Errorf("%w: %d of the %d required", ErrQuorum, len(v.Cosignatures), quorum)
	}
	return v, nil
}

func verifierList(log *LogVerifier, witnesses []*CosignatureVerifier) (note.Verifiers, error) {
	list := []note.Verifier{log.ed, log.ml}
	seen := map[[2]any]bool{{log.ed.Name(), log.ed.KeyHash()}: true, {log.ml.name, log.ml.hash}: true}
	for _, w := range witnesses {
		k := [2]any{w.name, w.hash}
		if seen[k] {
			return nil, fmt.Errorf("%w: witness key %s+%08x given twice or equal to a log key", ErrKey, w.name, w.hash)
		}
		seen[k] = true
		list = append(list, w)
	}
	return note.VerifierList(list...), nil
}

func signedBy(n *note.Note, v note.Verifier) bool {
	for _, s := range n.Sigs {
		if s.Name == v.Name() && s.Hash == v.KeyHash() {
			return true
		}
	}
	return false
}

func isLogKey(log *LogVerifier, s note.Signature) bool {
	return (s.Name == log.ed.Name() && s.Hash == log.ed.KeyHash()) || (s.Name == log.ml.name && s.Hash == log.ml.hash)
}

func openError(err error) error {
	var invalid *note.InvalidSignatureError
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &invalid):
		return fmt.Errorf("%w: signature of %s+%08x does not verify (forged or altered note)", ErrBadSignature, invalid.Name, invalid.Hash)
	case errors.As(err, &unverified):
		return fmt.Errorf("%w: no signature from the log's keys", ErrBadSignature)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// VerifyCosignatures checks a witness's answer to add-checkpoint: lines are note signature lines
// to be appended to the note whose text is text. It returns the lines that are valid cosignatures
// by w (lines from other keys are dropped) and the cosignature. It fails if no line is a valid
// cosignature by w, or if a line by w does not verify.
func VerifyCosignatures(text, lines []byte, w *CosignatureVerifier) ([]byte, Cosignature, error) {
	if len(text)+len(lines)+1 > MaxNoteSize {
		return nil, Cosignature{}, fmt.Errorf("%w: cosignature lines of %d bytes", ErrTooLarge, len(lines))
	}
	if len(lines) == 0 || lines[len(lines)-1] != '\n' {
		return nil, Cosignature{}, fmt.Errorf("%w: cosignature lines must end in a newline", ErrMalformed)
	}
	msg := append(append(append([]byte(nil), text...), '\n'), lines...)
	n, err := note.Open(msg, note.VerifierList(w))
	if err != nil {
		return nil, Cosignature{}, openError(err)
	}
	if n.Text != string(text) {
		return nil, Cosignature{}, fmt.Errorf("%w: cosignature lines contain a blank line", ErrMalformed)
	}
	s := n.Sigs[0]
	line := fmt.Appendf(nil, "— %s %s\n", s.Name, s.Base64)
	if !bytes.Contains(lines, line) {
		return nil, Cosignature{}, fmt.Errorf("%w: cosignature line is not canonical", ErrMalformed)
	}
	return line, Cosignature{Witness: s.Name, KeyHash: s.Hash, Time: cosignatureTime(s.Base64)}, nil
}
