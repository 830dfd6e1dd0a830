// Package logentry defines the entries, the epoch record and the history checks of Candor's case log: an append-only
// RFC 6962 Merkle tree (hashed with golang.org/x/mod/sumdb/tlog) of case events. Entries hold
// hashes, days and short fixed words, never content.
//
// # Entry encoding (version 1)
//
// All integers are big-endian; the encoding is exactly this long, nothing may follow.
//
//	"candor-log-entry"   16 bytes magic
//	version              1 byte  (1)
//	type                 1 byte  (see Type; 1..16)
//	day                  4 bytes (day.Day, two's complement)
//	case                 16 bytes (zero when the event concerns no case)
//	actorlen actor       1 byte (1..64) + printable ASCII without space (0x21..0x7e)
//	subject              32 bytes (a SHA-256 hash, or zero)
//	valuelen value       1 byte (0..32) + printable ASCII (0x20..0x7e)
//
// The encoding is the content ("rest") of a leaf of the log: the Merkle leaf hash covers it
// through the leaf's head (internal/leaf: leaf = H(tags ‖ H(rest))). Entry.Hash is
// tlog.RecordHash of the encoding alone, for tests and tools that hash entries on their own.
//
// Recipient sets: a CaseCreated entry's Subject is the commitment to the case's recipients
// (internal/leaf RecipientSet.Commit) and its Value the reporter's lookup value; Commitment is
// the one rule for the set in force.
//
// The leaf a log holds around this encoding (its tags and scope) is internal/leaf's; the log's
// checkpoints are internal/checkpoint's signed notes. The first leaf of an epoch after a restore
// holds an epoch record (Epoch) instead of an entry. CheckConsistent and CheckFork are the one
// place the history rules (rollback, fork, rewrite) live.
package logentry

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Errors are wrapped with details; test with errors.Is.
var (
	// ErrVersion: the input is not a version 1 entry or epoch record.
	ErrVersion = errors.New("logentry: unknown format or version")
	// ErrMalformed: the input is truncated, has trailing data, a non-canonical encoding or an
	// out-of-range field.
	ErrMalformed = errors.New("logentry: malformed encoding")
	// ErrInvalid: a value to be encoded breaks a rule of the format.
	ErrInvalid = errors.New("logentry: invalid value")
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
