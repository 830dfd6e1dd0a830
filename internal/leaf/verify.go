package leaf

import (
	"crypto/sha256"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Options are what a reviewer's inbox knows independently of the list.
type Options struct {
	// Origin is the log's origin (from its verified checkpoints); tags depend on it.
	Origin string
	// Key is the reviewer's addressing key.
	Key *AddressingKey
	// TagCount is the installation's constant tag count (DefaultTagCount unless configured).
	TagCount int
	// Known are trees of this log the reader verified before, of sizes between the list's start
	// and the new tree's size: the leaves must make each of their roots (ErrFork if not).
	Known []tlog.Tree
}

// Delivered is a leaf addressed to the reader, with its content.
type Delivered struct {
	Index  int64
	Public bool // addressed to every reviewer, not by tag
	Rest   []byte
}

// Result is what Verify proved.
type Result struct {
	// Addressed are the leaves addressed to the reader (tagged for them or Public), in order.
	Addressed []Delivered
	// Others is how many leaves were for other reviewers: all the reader learns about them.
	Others int
	// Frontier is the frontier of the new tree (for the reader's records).
	Frontier []tlog.Hash
}

// Verify checks a list against the tree the reader trusts (old) and a new verified checkpoint
// (new): the list starts at old.N (ErrRange), its frontier makes old.Hash (ErrFrontier), it has
// exactly new.N-old.N leaves (ErrTruncated), each with the constant tag count (ErrPadding), every
// leaf addressed to the reader comes in full (ErrWithheld) and no other does (ErrUnaddressed),
// the leaves make new.Hash (ErrRootMismatch: a leaf or tag was altered, hidden or dropped), and
// they make the root of every tree in o.Known of a size they pass through (ErrFork).
// Nothing is returned unless every check passes.
func Verify(l *List, old, new tlog.Tree, o Options) (*Result, error) {
	if err := checkShape(l, old, new, o); err != nil {
		return nil, err
	}
	f := frontier{size: old.N, hashes: append([]tlog.Hash(nil), l.Frontier...)}
	if old.N > 0 && f.root() != old.Hash {
		return nil, fmt.Errorf("%w: size %d", ErrFrontier, old.N)
	}
	known := make(map[int64]tlog.Hash, len(o.Known))
	for _, k := range o.Known {
		known[k.N] = k.Hash
	}
	res := &Result{}
	for i := range l.Leaves {
		lf := &l.Leaves[i]
		index := old.N + int64(i)
		a, err := checkLeaf(lf, index, o)
		if err != nil {
			return nil, err
		}
		if a != nil {
			res.Addressed = append(res.Addressed, *a)
		} else {
			res.Others++
		}
		f.append(lf.Hash())
		if h, ok := known[f.size]; ok && f.root() != h {
			return nil, fmt.Errorf("%w: the leaves make another root of size %d than the one verified before", ErrFork, f.size)
		}
	}
	if f.root() != new.Hash {
		return nil, fmt.Errorf("%w: leaves %d..%d do not make the root of size %d", ErrRootMismatch, old.N, new.N, new.N)
	}
	res.Frontier = f.hashes
	return res, nil
}

func checkShape(l *List, old, new tlog.Tree, o Options) error {
	switch {
	case o.Key == nil || o.TagCount < 1 || o.TagCount > MaxTagCount:
		return fmt.Errorf("%w: verifier options need a key and a tag count of 1..%d", ErrInvalid, MaxTagCount)
	case l.Start != old.N:
		return fmt.Errorf("%w: list starts at %d, the known tree has %d leaves", ErrRange, l.Start, old.N)
	case new.N < old.N:
		return fmt.Errorf("%w: new tree of %d leaves is smaller than the known %d", ErrRange, new.N, old.N)
	case int64(len(l.Leaves)) != new.N-old.N:
		return fmt.Errorf("%w: %d leaves for the %d from %d to %d", ErrTruncated, len(l.Leaves), new.N-old.N, old.N, new.N)
	case len(l.Frontier) != bits.OnesCount64(uint64(old.N)):
		return fmt.Errorf("%w: %d hashes for size %d", ErrFrontier, len(l.Frontier), old.N)
	}
	return nil
}

// checkLeaf returns the leaf if it is addressed to the reader, nil if not.
func checkLeaf(lf *Leaf, index int64, o Options) (*Delivered, error) {
	if len(lf.Tags) != o.TagCount {
		return nil, fmt.Errorf("%w: leaf %d has %d tags, the constant is %d", ErrPadding, index, len(lf.Tags), o.TagCount)
	}
	if !strictlySorted(lf.Tags) || (lf.Scope != Addressed && lf.Scope != Public) {
		return nil, fmt.Errorf("%w: leaf %d: unsorted tags or unknown scope", ErrMalformed, index)
	}
	if lf.Rest != nil && sha256.Sum256(lf.Rest) != lf.RestHash {
		return nil, fmt.Errorf("%w: leaf %d: content does not match its hash", ErrMalformed, index)
	}
	mine := lf.AddressedTo(o.Key.Tag(o.Origin, index))
	switch {
	case mine && lf.Rest == nil:
		return nil, fmt.Errorf("%w: leaf %d", ErrWithheld, index)
	case !mine && lf.Rest != nil:
		return nil, fmt.Errorf("%w: leaf %d", ErrUnaddressed, index)
	case !mine:
		return nil, nil
	}
	return &Delivered{Index: index, Public: lf.Scope == Public, Rest: lf.Rest}, nil
}

// frontier is a compact range [0, size): the roots of the maximal complete subtrees, left to right.
type frontier struct {
	size   int64
	hashes []tlog.Hash
}

// append adds a leaf hash, merging the complete subtrees it completes.
func (f *frontier) append(h tlog.Hash) {
	for n := f.size; n&1 == 1; n >>= 1 {
		h = tlog.NodeHash(f.hashes[len(f.hashes)-1], h)
		f.hashes = f.hashes[:len(f.hashes)-1]
	}
	f.hashes = append(f.hashes, h)
	f.size++
}

// root returns the RFC 6962 root of the range: the subtree roots folded from the right.
func (f *frontier) root() tlog.Hash {
	if len(f.hashes) == 0 {
		return sha256.Sum256(nil) // RFC 6962: the empty tree's root is SHA-256 of nothing
	}
	h := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.hashes[i], h)
	}
	return h
}
