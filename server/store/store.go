// Package store keeps everything the Candor server stores in one bbolt file:
// ciphertext (age headers and payload chunks) and content-free metadata
// (cases, the feed reviewers pull from, the case log, reviewers, settings).
// Nothing in it can be read without a reviewer's or reporter's key.
//
// # Blobs
//
// A blob is one age file, kept as its header apart from its payload, which is
// cut into chunks of Options.ChunkSize bytes. NewBlob registers a pending
// blob; BlobWriter.Write gathers full chunks into batches of
// Options.CommitChunks and hands them to a committer goroutine that commits
// each durably while the caller goes on sealing (at most Options.InFlight
// batches at once, so memory stays bounded whatever the size of the
// upload); BlobWriter.Close waits for them and writes the last chunk and the
// header. The blob stays pending — invisible to OpenBlob — until a case operation (CreateCase,
// AddMessage) commits it in the same transaction that makes the case or the
// message visible. A pending blob whose writer never finished (the process
// was killed, the upload broke) is swept, chunks and header included, by the
// next Open; BlobWriter.Abort does the same at once.
//
// # Cases, the feed and the log
//
// Every case operation is one bbolt update transaction: the case record, its
// lookup index, the blobs it commits, a FeedItem telling reviewers what to
// pull, and the caller's case-log entries become durable together or not at
// all. The case log is an RFC 6962 Merkle tree (golang.org/x/mod/sumdb/tlog)
// of tagged leaves (internal/leaf): the entries, opaque to the store, are
// their content; a case's entries are addressed to its reviewers (tags from
// their addressing keys), every other entry to all reviewers. Its proofs are
// computed inside read transactions, so they always match one consistent
// tree. StartEpoch re-logs the leaves under a new origin after a restore.
//
// # Deletion
//
// DeleteCase removes a case's record, lookup key, and every header and chunk
// of its blobs. bbolt reuses freed pages but does not wipe them, so the bytes
// stay in the file until Compact rewrites it; Backup always writes a compacted
// copy. Call Compact after deletions (the retention job does).
//
// # Concurrency
//
// A Store is safe for concurrent use. Only one process may open the file (bbolt
// holds an exclusive lock). Values returned by the store are copies owned by
// the caller. Callbacks run outside transactions unless documented otherwise.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"candor/internal/day"
)

// Limits and defaults.
const (
	DefaultLockTimeout = 5 * time.Second
	DefaultChunkSize   = 1 << 20
	MaxChunkSize       = 4 << 20
	MaxCommitChunks    = 64
	DefaultInFlight    = 2
	MaxInFlight        = 8
	MaxHeaderSize      = 64 << 10 // an age header for dozens of hybrid recipients fits easily
	MaxLogEntrySize    = 64 << 10
)

// schemaVersion is stored in meta under schemaKey. Bump it (and add a
// migration to Open) when a bucket layout or record changes incompatibly.
const (
	schemaVersion = "1"
	schemaKey     = "store.schema"
	reservedMeta  = "store." // meta keys the store owns; PutMeta refuses them
)

// Bucket names.
var (
	bucketMeta      = []byte("meta")      // key → value (settings, keys, schema)
	bucketHeaders   = []byte("headers")   // BlobID → age header
	bucketChunks    = []byte("chunks")    // BlobID ‖ uint32 seq → payload chunk
	bucketPending   = []byte("pending")   // BlobID → int32 day created
	bucketCases     = []byte("cases")     // CaseID → case record
	bucketLookup    = []byte("lookup")    // lookup key → CaseID
	bucketFeed      = []byte("feed")      // uint64 seq → feed record
	bucketLog       = []byte("log")       // uint64 index → entry (bucket sequence = log size)
	bucketLogHash   = []byte("loghash")   // uint64 stored-hash index → 32-byte hash
	bucketReviewers = []byte("reviewers") // fingerprint → reviewer record
	bucketFormer    = []byte("former")    // fingerprint → card of a removed reviewer
	allBuckets      = [][]byte{bucketMeta, bucketHeaders, bucketChunks, bucketPending, bucketCases,
		bucketLookup, bucketFeed, bucketLog, bucketLogHash, bucketReviewers, bucketFormer}
)

// Options configures Open. The zero value (or a nil *Options) gives the defaults.
type Options struct {
	// LockTimeout bounds the wait for the file lock (default 5s); on timeout
	// Open returns ErrLocked.
	LockTimeout time.Duration
	// Now returns the current time (default time.Now); only its UTC day is stored.
	Now func() time.Time
	// ChunkSize is the payload chunk size for new blobs (default 1 MiB, at most 4 MiB).
	ChunkSize int
	// CommitChunks is how many full chunks a BlobWriter gathers before one
	// durable commit (default 1, at most MaxCommitChunks). More chunks per
	// commit cost that much memory per writer and save fsyncs: bbolt keeps
	// two to four large values per leaf page and rewrites the whole leaf on
	// every commit, so one chunk per commit writes each chunk about three
	// times.
	CommitChunks int
	// InFlight is how many full batches a BlobWriter may hand to its
	// committer before Write waits (default 2, at most MaxInFlight): the
	// committer makes them durable while the caller fills the next, so a
	// writer holds up to InFlight+1 batches of memory.
	InFlight int
}

// Store is an open store file. See the package documentation.
type Store struct {
	path      string
	now       func() time.Time
	chunkSize int
	commit    int // chunks per durable BlobWriter commit
	inFlight  int // batches a BlobWriter's committer may hold
	swept     Sweep
	copyTx    int // bytes per transaction when Compact and Backup copy
	// failCommit, if set (by tests), runs inside every BlobWriter commit
	// transaction before its writes; an error it returns fails the commit
	// as a failed fsync would: the transaction is rolled back.
	failCommit func(seq uint32) error

	// mu guards db: every transaction holds it shared; Compact and Close hold
	// it exclusively while they swap or close the file.
	mu sync.RWMutex
	db *bolt.DB
}

// Sweep counts what Open removed: pending blobs left by writers that never
// committed, with their chunks and headers.
type Sweep struct {
	Blobs, Chunks, Headers int
}

// Open opens or creates the store file at path (mode 0600), creates missing
// buckets, checks the schema version, sweeps pending blobs left by an earlier
// process (see Swept) and removes temporary files left by an interrupted
// Compact or Backup.
func Open(path string, opts *Options) (*Store, error) {
	s := &Store{path: path, now: time.Now, chunkSize: DefaultChunkSize, commit: 1, inFlight: DefaultInFlight,
		copyTx: copyTxSize}
	timeout := DefaultLockTimeout
	if opts != nil {
		if opts.LockTimeout > 0 {
			timeout = opts.LockTimeout
		}
		if opts.Now != nil {
			s.now = opts.Now
		}
		if opts.ChunkSize != 0 {
			if opts.ChunkSize < 0 || opts.ChunkSize > MaxChunkSize {
				return nil, fmt.Errorf("store: chunk size %d out of range (1..%d): %w", opts.ChunkSize, MaxChunkSize, ErrInvalid)
			}
			s.chunkSize = opts.ChunkSize
		}
		if opts.CommitChunks != 0 {
			if opts.CommitChunks < 0 || opts.CommitChunks > MaxCommitChunks {
				return nil, fmt.Errorf("store: commit chunks %d out of range (1..%d): %w", opts.CommitChunks, MaxCommitChunks, ErrInvalid)
			}
			s.commit = opts.CommitChunks
		}
		if opts.InFlight != 0 {
			if opts.InFlight < 0 || opts.InFlight > MaxInFlight {
				return nil, fmt.Errorf("store: in-flight batches %d out of range (1..%d): %w", opts.InFlight, MaxInFlight, ErrInvalid)
			}
			s.inFlight = opts.InFlight
		}
	}
	db, err := openBolt(path, timeout)
	if err != nil {
		return nil, err
	}
	s.db = db
	if err := removeStale(path); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Update(s.init); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// initialMmapSize is the address space mapped at open: address space only,
// not memory (etcd maps 10 GiB). Mapping ahead spares the remaps of a
// growing file: each waits for every read transaction and first copies the
// values of the running write transaction out of the old mapping onto the
// heap.
const initialMmapSize = 8 << 30

// allocSize is how far bbolt grows the file beyond what a commit needs when
// it must grow it (bbolt's default is 16 MiB). Each growth is a truncate and
// a full fsync of the file; with 16 MiB, an upload's 8 MiB commits paid one
// every second or third commit. The file grows sparse (truncate allocates no
// blocks), so the headroom costs address space in the file, not disk, and
// Stats.FileSize (the pages in use) does not count it.
const allocSize = 128 << 20

// openBolt opens the bbolt file. The freelist is a hash map (fast with the
// many free pages that deleted blobs leave) and is not written on every
// commit: after an unclean stop, bbolt rebuilds it by walking the file at
// open, which costs time but never data (etcd runs with the same settings).
// The file grows allocSize at a time. NoGrowSync (skip that truncate and
// fsync) is NOT set: bbolt documents it as unsafe on ext3/ext4, the usual
// file systems of a server.
func openBolt(path string, timeout time.Duration) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, InitialMmapSize: initialMmapSize,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: opening %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	db.AllocSize = allocSize
	// Make the file's creation itself durable.
	if err := syncDir(filepath.Dir(path)); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// init creates the buckets, checks the schema and sweeps pending blobs, in
// one transaction.
func (s *Store) init(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("store: creating bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := meta.Get([]byte(schemaKey)); {
	case v == nil:
		if err := meta.Put([]byte(schemaKey), []byte(schemaVersion)); err != nil {
			return err
		}
	case string(v) != schemaVersion:
		return fmt.Errorf("%w: file has %q, this build reads %q", ErrSchema, v, schemaVersion)
	}
	var err error
	s.swept, err = sweepPending(tx, func(day.Day) bool { return true })
	return err
}

// Swept reports what Open swept: the pending blobs of writers that never
// committed (for tests and the start-up log line).
func (s *Store) Swept() Sweep { return s.swept }

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file. It waits for running transactions; open BlobWriters
// and Blobs fail with ErrClosed afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// isClosed reports whether Close has been called.
func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db == nil
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.View(fn)
}

// update runs fn in a durable write transaction.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.Update(fn)
}

// batchSize is the bytes a BlobWriter gathers before a durable commit.
func (s *Store) batchSize() int { return s.chunkSize * s.commit }

func (s *Store) today() day.Day { return day.FromTime(s.now()) }

// syncDir fsyncs a directory so that a created or renamed entry survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: syncing directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: syncing directory: %w", err)
	}
	return nil
}
