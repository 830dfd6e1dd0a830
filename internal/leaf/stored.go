package leaf

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Marshal returns the leaf with its content, as a server stores it:
//
//	uint8 0x01 (full) || uint8 scope || uint8 k || k × 16-byte tag || uint16 len(rest) || rest
//
// which is the form-1 leaf of a List's encoding. The leaf must carry its content.
func (l *Leaf) Marshal() ([]byte, error) {
	if l.Rest == nil {
		return nil, fmt.Errorf("%w: a stored leaf needs its content", ErrInvalid)
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 5+len(l.Tags)*TagSize+len(l.Rest)))
	addLeaf(b, l)
	return b.Bytes()
}

// Parse decodes a leaf made by Marshal. It accepts only the canonical encoding; errors wrap
// ErrMalformed. The leaf's Tags and Rest share b's memory: copy b first if it is only lent (a
// bbolt value outside its transaction, a reused buffer).
func Parse(b []byte) (*Leaf, error) {
	s := cryptobyte.String(b)
	if len(b) == 0 || b[0] != formFull {
		return nil, fmt.Errorf("%w: not a stored leaf", ErrMalformed)
	}
	lf, err := readLeaf(&s)
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, fmt.Errorf("%w: %d bytes after the leaf", ErrMalformed, len(s))
	}
	return &lf, nil
}
