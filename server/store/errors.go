package store

import "errors"

// Sentinel errors. Errors returned by the store wrap one of these (test with
// errors.Is). No error string ever contains a case ID, blob ID, lookup key,
// token hash or record content: errors end up in logs, and DESIGN §2 forbids
// logs that correlate with a case.
var (
	// ErrLocked is returned by Open when another process (or another Store in
	// this process) holds the file lock for longer than Options.LockTimeout.
	ErrLocked = errors.New("store is in use by another process")

	// ErrClosed is returned after Store.Close, or when a BlobWriter is used
	// after Close or Abort.
	ErrClosed = errors.New("store: closed")

	// ErrNotFound is returned for a missing case, blob, reviewer, meta key or
	// log entry. A pending (uncommitted) blob is not found by OpenBlob.
	ErrNotFound = errors.New("store: not found")

	// ErrExists is returned by CreateCase for a duplicate case ID or lookup key.
	ErrExists = errors.New("store: already exists")

	// ErrNotPending is returned when a case operation names a blob that is not
	// a closed, pending blob (already committed, aborted, swept or never closed),
	// and when a BlobWriter's blob is no longer pending.
	ErrNotPending = errors.New("store: blob is not pending")

	// ErrInvalid is returned for arguments that break a documented contract
	// (empty log entry, header too large, blobs not matching the messages,
	// log index out of range, …).
	ErrInvalid = errors.New("store: invalid argument")

	// ErrImmutable is returned by UpdateCase when fn changed a field the store
	// owns (ID, Lookup, Messages, LogIndices), and by UpdateReviewer when fn
	// changed the fingerprint.
	ErrImmutable = errors.New("store: immutable field changed")

	// ErrHeld is returned by DeleteCase for a case with at least one hold.
	ErrHeld = errors.New("store: case is on hold")

	// ErrCorrupt is returned when a stored record fails its checksum or does
	// not decode. The store never returns partially decoded records.
	ErrCorrupt = errors.New("store: corrupt record")

	// ErrSchema is returned by Open for a file written by an unknown schema.
	ErrSchema = errors.New("store: unsupported schema version")
)
