package leaf

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// Limits of a recipient set.
const (
	MaxReporterLen    = 4096 // an age recipient, hybrid post-quantum ones included
	MaxFingerprintLen = 64
	MaxReviewers      = 255
	SaltSize          = 32
	commitDomain      = "candor/recipient-set"
	commitVersion     = 1
)

// RecipientSet is who a case's messages are sealed to: the reporter's recipient and the
// reviewers' fingerprints (in any order; the commitment sorts them).
type RecipientSet struct {
	Reporter  string
	Reviewers []string
}

// NewSalt draws a commitment salt from rand (crypto/rand.Reader outside tests).
func NewSalt(rand io.Reader) ([SaltSize]byte, error) {
	var s [SaltSize]byte
	if _, err := io.ReadFull(rand, s[:]); err != nil {
		return s, fmt.Errorf("leaf: drawing salt: %w", err)
	}
	return s, nil
}

// Commit returns the set's commitment under salt:
//
//	SHA-256("candor/recipient-set" || 0x00 || 0x01 || salt (32 bytes) ||
//	        uint16 len(reporter) || reporter ||
//	        uint8 n || n × (uint8 len(fingerprint) || fingerprint))
//
// with the fingerprints sorted bytewise ascending. The reporter is 1..4096 bytes of printable
// ASCII; fingerprints are 1..64 bytes of printable ASCII without space, 1..255 of them, no
// duplicates.
func (s *RecipientSet) Commit(salt *[SaltSize]byte) ([sha256.Size]byte, error) {
	if err := s.validate(); err != nil {
		return [sha256.Size]byte{}, err
	}
	reviewers := slices.Clone(s.Reviewers)
	slices.Sort(reviewers)
	if len(slices.Compact(slices.Clone(reviewers))) != len(reviewers) {
		return [sha256.Size]byte{}, fmt.Errorf("%w: a reviewer is listed twice", ErrInvalid)
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddBytes([]byte(commitDomain + "\x00"))
	b.AddUint8(commitVersion)
	b.AddBytes(salt[:])
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s.Reporter)) })
	b.AddUint8(uint8(len(reviewers)))
	for _, r := range reviewers {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(r)) })
	}
	msg, err := b.Bytes()
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return sha256.Sum256(msg), nil
}

// Check reports whether the set matches commitment under salt (ErrCommitment if not).
func (s *RecipientSet) Check(salt *[SaltSize]byte, commitment [sha256.Size]byte) error {
	got, err := s.Commit(salt)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got[:], commitment[:]) != 1 {
		return ErrCommitment
	}
	return nil
}

func (s *RecipientSet) validate() error {
	if !printableASCII(s.Reporter, 0x20, MaxReporterLen) {
		return fmt.Errorf("%w: reporter recipient must be 1..%d bytes of printable ASCII", ErrInvalid, MaxReporterLen)
	}
	if len(s.Reviewers) == 0 || len(s.Reviewers) > MaxReviewers {
		return fmt.Errorf("%w: %d reviewers, want 1..%d", ErrInvalid, len(s.Reviewers), MaxReviewers)
	}
	for _, r := range s.Reviewers {
		if !printableASCII(r, 0x21, MaxFingerprintLen) {
			return fmt.Errorf("%w: a reviewer fingerprint must be 1..%d bytes of printable ASCII without space", ErrInvalid, MaxFingerprintLen)
		}
	}
	return nil
}

func printableASCII(s string, lo byte, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > 0x7e {
			return false
		}
	}
	return true
}
