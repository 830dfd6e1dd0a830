package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// CaseID identifies a case: 16 random bytes, written as 32 lowercase hex
// characters. The zero CaseID is "unset".
type CaseID [16]byte

// BlobID identifies a blob (one age file): 16 random bytes, written as 32
// lowercase hex characters. The zero BlobID is "none".
type BlobID [16]byte

func (id CaseID) String() string { return hex.EncodeToString(id[:]) }
func (id BlobID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is unset.
func (id CaseID) IsZero() bool { return id == CaseID{} }

// IsZero reports whether id is unset.
func (id BlobID) IsZero() bool { return id == BlobID{} }

// MarshalText encodes id as lowercase hex.
func (id CaseID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// MarshalText encodes id as lowercase hex.
func (id BlobID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes 32 hex characters.
func (id *CaseID) UnmarshalText(b []byte) error { return parseID(id[:], b) }

// UnmarshalText decodes 32 hex characters.
func (id *BlobID) UnmarshalText(b []byte) error { return parseID(id[:], b) }

// ParseCaseID parses the 32 hex characters of a CaseID.
func ParseCaseID(s string) (CaseID, error) {
	var id CaseID
	return id, parseID(id[:], []byte(s))
}

// ParseBlobID parses the 32 hex characters of a BlobID.
func ParseBlobID(s string) (BlobID, error) {
	var id BlobID
	return id, parseID(id[:], []byte(s))
}

// parseID decodes hex into dst. The error does not echo the input: an ID is
// an identifier that must not reach logs.
func parseID(dst, b []byte) error {
	if len(b) != 2*len(dst) {
		return fmt.Errorf("store: ID must be %d hex characters: %w", 2*len(dst), ErrInvalid)
	}
	if _, err := hex.Decode(dst, b); err != nil {
		return fmt.Errorf("store: ID is not hex: %w", ErrInvalid)
	}
	return nil
}

// newCaseID and newBlobID draw fresh IDs from crypto/rand (which never fails
// on supported platforms).
func newCaseID() (id CaseID) { rand.Read(id[:]); return id }
func newBlobID() (id BlobID) { rand.Read(id[:]); return id }
