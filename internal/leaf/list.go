package leaf

import (
	"crypto/sha256"
	"fmt"
	"math/bits"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	listMagic   = "candor-leaf-list"
	listVersion = 1
	formHead    = 0 // the leaf's head only: tags and RestHash
	formFull    = 1 // tags and the content
	// MaxListLeaves bounds the leaves of one list (a bundle's size limit binds first).
	MaxListLeaves = 1 << 24
)

// List is the part of a reviewer's bundle that covers the log from the reviewer's last
// checkpoint (size Start) to the new one.
type List struct {
	// Start is the index of the first leaf: the size of the tree the reviewer already trusts.
	Start int64
	// Frontier is the tree of size Start as the hashes of its maximal complete subtrees, left to
	// right (one per bit set in Start). The reader checks it against the root it trusts.
	Frontier []tlog.Hash
	// Leaves are the leaves from index Start on; Rest is nil for those not sent in full.
	Leaves []Leaf
}

// Select returns the list a reviewer with key gets: every leaf from start on, in full if it is
// addressed to them (their tag for its index, or Public), otherwise without its content.
func Select(origin string, start int64, frontier []tlog.Hash, leaves []Leaf, key *AddressingKey) *List {
	l := &List{Start: start, Frontier: frontier, Leaves: make([]Leaf, len(leaves))}
	for i, lf := range leaves {
		l.Leaves[i] = lf
		if !lf.AddressedTo(key.Tag(origin, start+int64(i))) {
			l.Leaves[i].Rest = nil
		}
	}
	return l
}

// Frontier returns the frontier of the tree of size n from its stored hashes (tlog's layout),
// for List.Frontier.
func Frontier(n int64, r tlog.HashReader) ([]tlog.Hash, error) {
	var idx []int64
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	hs, err := r.ReadHashes(idx)
	if err != nil {
		return nil, fmt.Errorf("leaf: reading the frontier of size %d: %w", n, err)
	}
	return hs, nil
}

// Marshal returns the list's encoding (see docs/protocol.md):
//
//	"candor-leaf-list" || 0x01 || uint64 start ||
//	uint8 n || n × 32-byte frontier hash ||
//	uint32 count || count × leaf
//	leaf = uint8 form (0 head, 1 full) || uint8 scope || uint8 k || k × 16-byte tag ||
//	       (form 0) 32-byte SHA-256(rest) | (form 1) uint16 len || rest
func (l *List) Marshal() ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddBytes([]byte(listMagic))
	b.AddUint8(listVersion)
	b.AddUint64(uint64(l.Start))
	b.AddUint8(uint8(len(l.Frontier)))
	for _, h := range l.Frontier {
		b.AddBytes(h[:])
	}
	b.AddUint32(uint32(len(l.Leaves)))
	for i := range l.Leaves {
		addLeaf(b, &l.Leaves[i])
	}
	return b.Bytes()
}

func addLeaf(b *cryptobyte.Builder, lf *Leaf) {
	form := uint8(formHead)
	if lf.Rest != nil {
		form = formFull
	}
	b.AddUint8(form)
	b.AddUint8(uint8(lf.Scope))
	b.AddUint8(uint8(len(lf.Tags)))
	for _, t := range lf.Tags {
		b.AddBytes(t[:])
	}
	if lf.Rest == nil {
		b.AddBytes(lf.RestHash[:])
		return
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(lf.Rest) })
}

func (l *List) validate() error {
	switch {
	case l.Start < 0:
		return fmt.Errorf("%w: negative start", ErrInvalid)
	case len(l.Frontier) != bits.OnesCount64(uint64(l.Start)):
		return fmt.Errorf("%w: frontier of %d hashes for size %d", ErrInvalid, len(l.Frontier), l.Start)
	case len(l.Leaves) > MaxListLeaves:
		return fmt.Errorf("%w: %d leaves, limit %d", ErrInvalid, len(l.Leaves), MaxListLeaves)
	}
	for i := range l.Leaves {
		if err := l.Leaves[i].validate(); err != nil {
			return fmt.Errorf("leaf %d: %w", l.Start+int64(i), err)
		}
	}
	return nil
}

func (lf *Leaf) validate() error {
	switch {
	case lf.Scope != Addressed && lf.Scope != Public:
		return fmt.Errorf("%w: scope %d", ErrInvalid, lf.Scope)
	case len(lf.Tags) > MaxTagCount:
		return fmt.Errorf("%w: %d tags, limit %d", ErrInvalid, len(lf.Tags), MaxTagCount)
	case !strictlySorted(lf.Tags):
		return fmt.Errorf("%w: tags not strictly ascending", ErrInvalid)
	case lf.Rest != nil && (len(lf.Rest) == 0 || len(lf.Rest) > MaxRestLen):
		return fmt.Errorf("%w: content of %d bytes", ErrInvalid, len(lf.Rest))
	case lf.Rest != nil && sha256.Sum256(lf.Rest) != lf.RestHash:
		return fmt.Errorf("%w: content does not match its hash", ErrInvalid)
	}
	return nil
}

// ParseList decodes a list. It accepts only the canonical encoding (Marshal(ParseList(b)) == b);
// errors wrap ErrMalformed. For a full leaf it computes RestHash from the content.
func ParseList(b []byte) (*List, error) {
	s := cryptobyte.String(b)
	var magic []byte
	var version, nFrontier uint8
	var start uint64
	var count uint32
	if !s.ReadBytes(&magic, len(listMagic)) || string(magic) != listMagic || !s.ReadUint8(&version) {
		return nil, fmt.Errorf("%w: not a leaf list", ErrMalformed)
	}
	if version != listVersion {
		return nil, fmt.Errorf("%w: leaf list version %d", ErrMalformed, version)
	}
	if !s.ReadUint64(&start) || start>>63 != 0 || !s.ReadUint8(&nFrontier) || int(nFrontier) != bits.OnesCount64(start) {
		return nil, fmt.Errorf("%w: bad start or frontier", ErrMalformed)
	}
	l := &List{Start: int64(start), Frontier: make([]tlog.Hash, nFrontier)}
	for i := range l.Frontier {
		if !s.CopyBytes(l.Frontier[i][:]) {
			return nil, fmt.Errorf("%w: truncated frontier", ErrMalformed)
		}
	}
	if len(l.Frontier) == 0 {
		l.Frontier = nil // canonical for comparisons: no frontier is nil
	}
	if !s.ReadUint32(&count) || count > MaxListLeaves {
		return nil, fmt.Errorf("%w: bad leaf count", ErrMalformed)
	}
	l.Leaves = make([]Leaf, 0, min(int(count), len(s)/(3+sha256.Size)))
	for i := range count {
		lf, err := readLeaf(&s)
		if err != nil {
			return nil, fmt.Errorf("leaf %d: %w", start+uint64(i), err)
		}
		l.Leaves = append(l.Leaves, lf)
	}
	if !s.Empty() {
		return nil, fmt.Errorf("%w: %d bytes after the list", ErrMalformed, len(s))
	}
	return l, nil
}

func readLeaf(s *cryptobyte.String) (Leaf, error) {
	var form, scope, k uint8
	if !s.ReadUint8(&form) || !s.ReadUint8(&scope) || !s.ReadUint8(&k) {
		return Leaf{}, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	if form > formFull || Scope(scope) > Public || k > MaxTagCount {
		return Leaf{}, fmt.Errorf("%w: form %d, scope %d, %d tags", ErrMalformed, form, scope, k)
	}
	lf := Leaf{Scope: Scope(scope), Tags: make([]Tag, k)}
	for i := range lf.Tags {
		if !s.CopyBytes(lf.Tags[i][:]) {
			return Leaf{}, fmt.Errorf("%w: truncated tags", ErrMalformed)
		}
	}
	if !strictlySorted(lf.Tags) {
		return Leaf{}, fmt.Errorf("%w: tags not strictly ascending", ErrMalformed)
	}
	if form == formHead {
		if !s.CopyBytes(lf.RestHash[:]) {
			return Leaf{}, fmt.Errorf("%w: truncated hash", ErrMalformed)
		}
		return lf, nil
	}
	var rest cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&rest) || len(rest) == 0 {
		return Leaf{}, fmt.Errorf("%w: truncated or empty content", ErrMalformed)
	}
	lf.Rest = []byte(rest)
	lf.RestHash = sha256.Sum256(lf.Rest)
	return lf, nil
}
