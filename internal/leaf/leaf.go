// Package leaf owns the leaves of the case log as DESIGN §7.1–7.2 describes them: each leaf carries
// blinded per-reviewer tags, padded to a constant count, and commits to its content (the "rest")
// by hash, so a reviewer given only (tags, H(rest)) for leaves not addressed to them can still
// recompute the whole tree and prove that nothing addressed to them was withheld.
//
// The server builds a leaf with [New] from the entry's encoding and the tags of its recipients
// ([AddressingKey.Tag]); the leaf's Merkle hash is [Leaf.Hash]. For a reviewer's bundle it cuts a
// [List] with [Select]: leaves addressed to that reviewer in full, the others as (tags, H(rest)).
// The reviewer's inbox decodes it with [ParseList] and checks it with [Verify] against the
// checkpoint it already trusted and the new (witnessed) one.
//
// [RecipientSet.Commit] is the salted commitment to a case's recipients that a CaseCreated entry
// carries. docs/protocol.md ("Leaves, tags and recipient commitments") specifies every byte.
package leaf

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// Sizes and limits.
const (
	TagSize         = 16
	KeySize         = 32
	DefaultTagCount = 8  // tags per leaf unless the installation sets another count
	MaxTagCount     = 64 // a leaf can be addressed to at most this many reviewers
	MaxRestLen      = 65535
	headVersion     = 1
	tagDomain       = "candor/leaf-tag/v1"
)

// Errors returned by this package. Errors are wrapped with details; test with errors.Is.
var (
	// ErrMalformed: the input breaks the encoding (truncated, trailing data, unsorted tags, an
	// unknown version, scope or form byte).
	ErrMalformed = errors.New("leaf: malformed")
	// ErrInvalid: a value to encode breaks a rule of the format.
	ErrInvalid = errors.New("leaf: invalid value")
	// ErrTooManyRecipients: more recipients than the leaf has tags.
	ErrTooManyRecipients = errors.New("leaf: more recipients than tags")
	// ErrPadding: a leaf does not carry exactly the installation's tag count.
	ErrPadding = errors.New("leaf: tag count is not the constant count")
	// ErrRange: the list does not start at the reader's tree size.
	ErrRange = errors.New("leaf: list does not start at the known tree size")
	// ErrTruncated: the list has fewer (or more) leaves than the checkpoint's tree adds.
	ErrTruncated = errors.New("leaf: list does not cover the checkpoint's tree")
	// ErrFrontier: the list's frontier is not the known tree.
	ErrFrontier = errors.New("leaf: frontier does not match the known checkpoint")
	// ErrWithheld: a leaf addressed to this reader came without its content.
	ErrWithheld = errors.New("leaf: a leaf addressed to this reviewer was withheld")
	// ErrUnaddressed: a leaf not addressed to this reader came with its content (a leak).
	ErrUnaddressed = errors.New("leaf: the content of a leaf not addressed to this reviewer was sent")
	// ErrRootMismatch: the leaves do not make the checkpoint's tree: a leaf or a tag was altered,
	// hidden, added or removed.
	ErrRootMismatch = errors.New("leaf: the leaves do not make the checkpoint's tree")
	// ErrFork: the leaves make another root than a tree of the same size the reader verified
	// before: two histories of one log.
	ErrFork = errors.New("leaf: the leaves contradict a tree verified before (fork)")
	// ErrCommitment: a recipient set does not match its commitment.
	ErrCommitment = errors.New("leaf: recipient set does not match its commitment")
)

// Tag is a blinded per-reviewer address of a leaf: HMAC-SHA256 under the reviewer's addressing
// key, truncated to 16 bytes. Without the key it is indistinguishable from the random padding.
type Tag [TagSize]byte

// AddressingKey is the secret a reviewer shares with the server alone to recognise the leaves
// addressed to them. It formats as "[addressing key redacted]".
type AddressingKey struct{ k [KeySize]byte }

// GenerateAddressingKey draws a new key from rand (crypto/rand.Reader outside tests).
func GenerateAddressingKey(rand io.Reader) (*AddressingKey, error) {
	k := new(AddressingKey)
	if _, err := io.ReadFull(rand, k.k[:]); err != nil {
		return nil, fmt.Errorf("leaf: generating addressing key: %w", err)
	}
	return k, nil
}

// NewAddressingKey decodes a KeySize-byte key.
func NewAddressingKey(b []byte) (*AddressingKey, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: addressing key of %d bytes, want %d", ErrInvalid, len(b), KeySize)
	}
	k := new(AddressingKey)
	copy(k.k[:], b)
	return k, nil
}

// Bytes returns the key (secret).
func (k *AddressingKey) Bytes() []byte { return bytes.Clone(k.k[:]) }

// String redacts the key.
func (k *AddressingKey) String() string { return "[addressing key redacted]" }

// GoString redacts the key.
func (k *AddressingKey) GoString() string { return k.String() }

// Tag returns the key's tag for the leaf at index of the log named origin:
// HMAC-SHA256(key, "candor/leaf-tag/v1" || 0x00 || uint8 len(origin) || origin || uint64 index)[:16].
// Tags of one reviewer on different leaves are unlinkable without the key. origin must be at most
// 255 bytes (checkpoint origins are).
func (k *AddressingKey) Tag(origin string, index int64) Tag {
	m := hmac.New(sha256.New, k.k[:])
	m.Write([]byte(tagDomain + "\x00"))
	m.Write([]byte{byte(len(origin))})
	m.Write([]byte(origin[:min(len(origin), 255)]))
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(index)))
	var t Tag
	copy(t[:], m.Sum(nil))
	return t
}

// Scope says who a leaf is addressed to.
type Scope uint8

// Scopes.
const (
	// Addressed: the leaf is for the reviewers whose tags it carries.
	Addressed Scope = 0
	// Public: the leaf is for every reviewer (e.g. a reviewer or settings change); every bundle
	// carries it in full.
	Public Scope = 1
)

// Leaf is one leaf of the case log.
type Leaf struct {
	Scope Scope
	// Tags are the leaf's tags in ascending order: the recipients' tags and random padding, as
	// many as the installation's tag count.
	Tags []Tag
	// RestHash is SHA-256 of Rest.
	RestHash [sha256.Size]byte
	// Rest is the leaf's content (an entry's encoding), or nil when withheld from this reader.
	Rest []byte
}

// New returns a leaf with content rest (1..MaxRestLen bytes), addressed to the holders of tags
// (none for a Public leaf is fine) and padded with random tags from rand to tagCount tags.
func New(rand io.Reader, rest []byte, scope Scope, tags []Tag, tagCount int) (*Leaf, error) {
	if len(rest) == 0 || len(rest) > MaxRestLen {
		return nil, fmt.Errorf("%w: content of %d bytes, want 1..%d", ErrInvalid, len(rest), MaxRestLen)
	}
	if scope != Addressed && scope != Public {
		return nil, fmt.Errorf("%w: scope %d", ErrInvalid, scope)
	}
	if tagCount < 1 || tagCount > MaxTagCount {
		return nil, fmt.Errorf("%w: tag count %d, want 1..%d", ErrInvalid, tagCount, MaxTagCount)
	}
	if len(tags) > tagCount {
		return nil, fmt.Errorf("%w: %d recipients, %d tags", ErrTooManyRecipients, len(tags), tagCount)
	}
	all := slices.Clone(tags)
	for len(all) < tagCount {
		var t Tag
		if _, err := io.ReadFull(rand, t[:]); err != nil {
			return nil, fmt.Errorf("leaf: drawing padding: %w", err)
		}
		if !slices.Contains(all, t) {
			all = append(all, t)
		}
	}
	slices.SortFunc(all, func(a, b Tag) int { return bytes.Compare(a[:], b[:]) })
	if !strictlySorted(all) {
		return nil, fmt.Errorf("%w: a recipient's tag is given twice", ErrInvalid)
	}
	return &Leaf{Scope: scope, Tags: all, RestHash: sha256.Sum256(rest), Rest: bytes.Clone(rest)}, nil
}

func strictlySorted(tags []Tag) bool {
	for i := 1; i < len(tags); i++ {
		if bytes.Compare(tags[i-1][:], tags[i][:]) >= 0 {
			return false
		}
	}
	return true
}

// Head returns the hashed part of the leaf: version 1, the scope, the tag count, the tags and
// RestHash. It is what a reader without the content receives.
func (l *Leaf) Head() []byte {
	b := make([]byte, 0, 3+len(l.Tags)*TagSize+sha256.Size)
	b = append(b, headVersion, byte(l.Scope), byte(len(l.Tags)))
	for _, t := range l.Tags {
		b = append(b, t[:]...)
	}
	return append(b, l.RestHash[:]...)
}

// Hash returns the leaf's Merkle leaf hash: tlog.RecordHash(Head()), that is
// SHA-256(0x00 || Head()) as RFC 6962 hashes a leaf.
func (l *Leaf) Hash() tlog.Hash { return tlog.RecordHash(l.Head()) }

// AddressedTo reports whether the leaf is public or carries t.
func (l *Leaf) AddressedTo(t Tag) bool {
	if l.Scope == Public {
		return true
	}
	_, found := slices.BinarySearchFunc(l.Tags, t, func(a, b Tag) int { return bytes.Compare(a[:], b[:]) })
	return found
}
