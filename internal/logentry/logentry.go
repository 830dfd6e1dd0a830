// Package logentry defines the entries and checkpoints of Candor's case log: an append-only
// RFC 6962 Merkle tree (hashed with golang.org/x/mod/sumdb/tlog) of case events. Entries hold
// hashes, days and short fixed words, never content.
//
// # Entry encoding (version 1)
//
// All integers are big-endian; the encoding is exactly this long, nothing may follow.
//
//	"candor-log-entry"   16 bytes magic
//	version              1 byte  (1)
//	type                 1 byte  (see Type; 1..11)
//	day                  4 bytes (day.Day, two's complement)
//	case                 16 bytes (zero when the event concerns no case)
//	actorlen actor       1 byte (1..64) + printable ASCII without space (0x21..0x7e)
//	subject              32 bytes (a SHA-256 hash, or zero)
//	valuelen value       1 byte (0..32) + printable ASCII (0x20..0x7e)
//
// The record hash of an entry (its Merkle leaf) is tlog.RecordHash of this encoding.
//
// # Checkpoint text (version 1)
//
//	candor-log/v1\n
//	<origin>\n          1..255 bytes of printable ASCII without space
//	<size>\n            decimal tree size, no sign, no leading zero (except "0")
//	<hash>\n            standard base64 (with padding) of the 32-byte tree root
//
// A signed checkpoint appends a blank line and one signature line, standard base64 with padding:
//
//	\n
//	sig <base64 signature>\n
//
// The signature covers the checkpoint text (the first four lines) with context "candor/checkpoint".
//
// # Proofs
//
// Inclusion (tlog.RecordProof) and consistency (tlog.TreeProof) proofs are encoded as a count byte
// (0..64) followed by that many 32-byte hashes.
package logentry

import (
	"errors"
	"fmt"
)

// Signer signs msg under a context string (crypto.SigningKey satisfies it).
type Signer interface {
	Sign(context string, msg []byte) ([]byte, error)
}

// Verifier checks a signature made by a Signer (crypto.VerifyKey satisfies it).
type Verifier interface {
	Verify(context string, msg, sig []byte) error
}

// SignatureContext is the context under which checkpoints are signed.
const SignatureContext = "candor/checkpoint"

// Errors returned by this package. Errors are wrapped with details; test with errors.Is.
var (
	// ErrVersion: the input is not a version 1 entry or checkpoint.
	ErrVersion = errors.New("logentry: unknown format or version")
	// ErrMalformed: the input is truncated, has trailing data, a non-canonical encoding or an
	// out-of-range field.
	ErrMalformed = errors.New("logentry: malformed encoding")
	// ErrInvalid: a value to be encoded breaks a rule of the format.
	ErrInvalid = errors.New("logentry: invalid value")
	// ErrBadSignature: a checkpoint signature is missing or does not verify.
	ErrBadSignature = errors.New("logentry: bad checkpoint signature")
)

// printable reports whether s is 0..max bytes of ASCII in [lo, 0x7e].
func printable(s string, lo byte, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
