// Package bundle is the file that `candor sync pull` downloads for one reviewer and that
// `candor-inbox import` reads offline: the log's witnessed checkpoint, every leaf of the case log
// since the inbox's last checkpoint, case metadata and the reviewer's new ciphertext blobs, in one
// stream signed by the server.
//
// Blobs can be gigabytes, so both [Writer] and [Reader] stream: every record but a blob's payload
// is bounded ([MaxRecordLen]; the leaf list [MaxLeafListLen]) and held in memory; payloads pass
// through.
//
// # Format (version 2)
//
//	bundle  = magic *record
//	magic   = "candor-bundle/v2\n"
//	record  = type(1 byte) length(uvarint, minimal encoding, ≤ the type's limit) payload(length bytes)
//
// A Blob record is followed directly by exactly Blob.Size raw payload bytes (not counted in the
// record's length). Records appear in this order:
//
//	Header            exactly once, first
//	Checkpoint        exactly once, second
//	Alarm*            the witnesses' refusals the server recorded (an inbox refuses the bundle)
//	SealedKey         at most once
//	LeafList          exactly once; it ends at the checkpoint's tree size
//	Case*, then Change*, then Card*
//	CaseIndex         exactly once
//	Installation      at most once
//	Blob*
//	End               exactly once, last; nothing may follow
//
// Payloads (integers big-endian; strings are length-prefixed by a byte unless noted):
//
//	1 Header       serverkey(2-byte len, 1..8192) origin(1..255, printable ASCII without space)
//	               reviewer(1..64, printable ASCII without space) since(8) until(8, ≥ since) day(4)
//	2 Checkpoint   a C2SP signed checkpoint note (internal/checkpoint), 1..32 KiB; its text's
//	               origin equals the header's (the signatures are the inbox's to verify)
//	20 Alarm       kind(1: 1 rollback, 2 fork) text(the rest, 1..1024 bytes of printable ASCII)
//	21 SealedKey   an age file (the rest, ≤ 16 KiB) whose plaintext is the reviewer's 32-byte
//	               addressing key (internal/leaf)
//	22 LeafList    a leaf list (internal/leaf, ≤ 64 MiB): start + count = the checkpoint's size
//	5 Case         id(16, non-zero) category(0..64, UTF-8 without control characters)
//	               received(4) ackdue(4) feedbackdue(4) closed(4) status(one of received,
//	               acknowledged, in-review, closed) reviewers(count byte ≤ 64, each 1..64 printable)
//	               reporterrecipient(2-byte len, 0..4096 printable ASCII without space)
//	               holds(count byte ≤ 64, each 1..64 printable) deleted(1 byte, 0 or 1) logindex(8, ≥ 0)
//	               salt(32: the salt of the case's recipient-set commitment)
//	6 Blob         case(16) id(16) kind(1: 1 report, 2 follow-up, 3 reply, 4 note)
//	               author(1..64 printable) day(4) header(4-byte len, 1..1 MiB; an age header:
//	               starts "age-encryption.org/v1\n") size(8, 0..2^50) seq(8) signedday(4)
//	               sig(2-byte len, 0..8192) feedback(1 byte, 0 or 1; 1 only on a reply)
//	               signedheader(4-byte len, 0..1 MiB; empty or an age header)
//	               (seq, signedday, sig and signedheader: a reply's or note's envelope signature
//	               and, after a share, the header it signed, see Blob; zero and empty unless kind
//	               is 3 or 4)
//	7 End          sha256(32) signature(the rest, 1..8192 bytes)
//	8 CaseIndex    count(4, ≤ MaxIndexCases) count × case id(16, non-zero, strictly increasing):
//	               every case the reviewer is on when the bundle is made
//	9 Card         a reviewer card's text (1..16 KiB; crypto.Card, checked by the inbox)
//	11 Installation the receipt derivation salt and parameters and the registered reviewers
//	               (see Installation)
//	10 Change      case(16, non-zero) kind(1: 2 status, 3 hold, 6 assign, 7 share, 8 delete)
//	               author(1..64 printable) seq(8) day(4) status(1-byte len) hold(1 byte, 0 or 1)
//	               outcome(1-byte len) target(1-byte len) commitment(32) body(4-byte len)
//	               sig(2-byte len, 1..8192): a reviewer's signed change, the fields of the
//	               envelope it pushed, obeying the envelope's rules for its kind (see Change); the
//	               inbox verifies it with the author's card
//
// Types 3 and 4 (version 1's consistency proofs and log entries with inclusion proofs) are
// retired: the leaf list proves both, for every leaf.
//
// The End record's hash is SHA-256 of every byte before the End record's type byte (magic
// included); its signature is the server's over that hash, with context "candor/bundle". The
// server key is the Header's ServerKey; the inbox pins it and checks it before trusting anything.
package bundle

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

// SignatureContext is the context under which bundles are signed.
const SignatureContext = "candor/bundle"

const magic = "candor-bundle/v2\n"

// Limits of the format.
const (
	MaxRecordLen    = 1<<20 + 16384 // bytes of one record's payload (a blob's age header and signature fit)
	MaxServerKeyLen = 8192
	MaxSignatureLen = 8192
	MaxAgeHeaderLen = 1 << 20
	MaxBlobSize     = 1 << 50
	MaxNameLen      = 64 // reviewer fingerprints, authors, categories
	MaxListLen      = 64 // reviewers and holds of a case
	MaxRecipientLen = 4096
	MaxOriginLen    = 255
)

// Errors returned by this package. Errors are wrapped with details; test with errors.Is.
var (
	// ErrVersion: the input is not a version 2 bundle.
	ErrVersion = errors.New("bundle: not a version 2 bundle")
	// ErrTruncated: the bundle ended before its End record.
	ErrTruncated = errors.New("bundle: truncated")
	// ErrMalformed: an unknown record type, a record out of order, an out-of-range or
	// non-canonical field, or data after the End record.
	ErrMalformed = errors.New("bundle: malformed")
	// ErrCorrupt: the bytes do not match the hash in the End record.
	ErrCorrupt = errors.New("bundle: corrupt (hash mismatch)")
	// ErrBadSignature: the bundle's signature does not verify.
	ErrBadSignature = errors.New("bundle: bad signature")
	// ErrInvalid: a value given to the Writer breaks a rule of the format.
	ErrInvalid = errors.New("bundle: invalid record")
	// ErrState: a method was called out of order (e.g. End before the bundle was read).
	ErrState = errors.New("bundle: call out of order")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
