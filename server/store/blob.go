package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
)

// BlobWriter writes one blob (an age file: header and payload) chunk by
// chunk. Obtain one from NewBlob. It is not safe for concurrent use.
//
// Write gathers full chunks into batches of Options.CommitChunks and hands
// each full batch to a committer goroutine, which commits the batches in
// order, each in one durable transaction, while the caller goes on writing
// (sealing the next bytes overlaps the disk's work). At most
// Options.InFlight batches wait or commit at once; Write blocks while that
// many do, so a writer holds at most InFlight+1 batches of memory whatever
// the size of the blob. A failed commit stops the committer; its error is
// returned by the next Write or by Close. Close returns only once every
// batch, the last partial chunk and the header are durable. The blob stays
// pending until a case operation commits it; Abort (or the next Open, if the
// process dies) deletes everything written, committed batches included.
type BlobWriter struct {
	s      *Store
	id     BlobID
	buf    []byte // bytes not yet handed off (less than one batch); nil until needed
	seq    uint32 // number of the next chunk to hand off
	size   int64  // payload bytes accepted
	header []byte
	closed bool
	err    error // sticky: after a failed commit the blob is incomplete
	pipe   pipeline
}

// NewBlob registers a new pending blob with a random ID.
func (s *Store) NewBlob() (*BlobWriter, error) {
	id := newBlobID()
	created := binary.BigEndian.AppendUint32(nil, uint32(s.today()))
	err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).Put(id[:], created)
	})
	if err != nil {
		return nil, fmt.Errorf("store: registering blob: %w", err)
	}
	w := &BlobWriter{s: s, id: id}
	w.pipe.init(s.inFlight, w.commitBatch)
	return w, nil
}

// ID returns the blob's ID.
func (w *BlobWriter) ID() BlobID { return w.id }

// Size returns the number of payload bytes written so far.
func (w *BlobWriter) Size() int64 { return w.size }

// SetHeader sets the blob's age header (at most MaxHeaderSize bytes; copied).
// It may be called at any time before Close; the last call wins.
func (w *BlobWriter) SetHeader(h []byte) error {
	if w.closed {
		return ErrClosed
	}
	if len(h) == 0 || len(h) > MaxHeaderSize {
		return fmt.Errorf("store: header of %d bytes (want 1..%d): %w", len(h), MaxHeaderSize, ErrInvalid)
	}
	w.header = clone(h)
	return nil
}

// Write appends payload bytes (copied), handing every full batch of chunks to
// the committer. It fails with the error of an earlier failed commit. After
// an error the writer is unusable; call Abort.
func (w *BlobWriter) Write(p []byte) (n int, err error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err == nil {
		w.err = w.pipe.failed()
	}
	if w.err != nil {
		return 0, w.err
	}
	batch := w.s.batchSize()
	for len(p) > 0 && err == nil {
		k := w.fill(p, batch)
		if len(w.buf) == batch {
			err = w.handOff()
		}
		n, p = n+k, p[k:]
		w.size += int64(k)
	}
	w.err = err
	return n, err
}

// handOff gives the full batch in w.buf to the committer and takes an empty
// buffer (a recycled one, or nil) to fill next.
func (w *BlobWriter) handOff() error {
	if w.s.isClosed() {
		return fmt.Errorf("store: writing blob: %w", ErrClosed)
	}
	if uint64(w.seq)+uint64(w.s.commit) >= math.MaxUint32 {
		return fmt.Errorf("store: blob has too many chunks: %w", ErrInvalid)
	}
	next, err := w.pipe.push(batch{data: w.buf, seq: w.seq})
	if err != nil {
		return err
	}
	w.buf, w.seq = next, w.seq+uint32(w.s.commit)
	return nil
}

// fill copies as much of p as fits into the batch buffer. The buffer holds
// one chunk at first and a whole batch once that is full, so a small blob
// never allocates a batch and a large one allocates at most InFlight+1.
func (w *BlobWriter) fill(p []byte, batch int) int {
	k := min(len(p), batch-len(w.buf))
	if len(w.buf)+k > cap(w.buf) {
		size := min(w.s.chunkSize, batch)
		if len(w.buf)+k > size {
			size = batch
		}
		w.buf = append(make([]byte, 0, size), w.buf...)
	}
	w.buf = append(w.buf, p[:k]...)
	return k
}

// commitBatch commits a full batch handed off by Write (run by the committer).
func (w *BlobWriter) commitBatch(b batch) error { return w.commit(b.data, nil, b.seq) }

// commit stores data as the chunks numbered from seq (none if data is
// empty; the last may be short) and, if header is not nil, the header, in
// one durable transaction — provided the blob is still pending.
func (w *BlobWriter) commit(data, header []byte, seq uint32) error {
	chunks := (len(data) + w.s.chunkSize - 1) / w.s.chunkSize
	if uint64(seq)+uint64(chunks) >= math.MaxUint32 {
		return fmt.Errorf("store: blob has too many chunks: %w", ErrInvalid)
	}
	err := w.s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPending).Get(w.id[:]) == nil {
			return ErrNotPending
		}
		if w.s.failCommit != nil {
			if err := w.s.failCommit(seq); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucketChunks)
		for i := range chunks {
			chunk := data[i*w.s.chunkSize : min(len(data), (i+1)*w.s.chunkSize)]
			if err := b.Put(chunkKey(w.id, seq+uint32(i)), chunk); err != nil {
				return err
			}
		}
		if header != nil {
			return tx.Bucket(bucketHeaders).Put(w.id[:], header)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: writing blob: %w", err)
	}
	return nil
}

// Close waits until every batch handed off is durable, then writes the last
// partial chunk and the header (SetHeader must have been called) in one
// durable transaction and returns the blob's ID. The blob is still pending:
// commit it with CreateCase or AddMessage, or Abort it.
func (w *BlobWriter) Close() (BlobID, error) {
	if w.closed {
		return BlobID{}, ErrClosed
	}
	if w.err == nil {
		w.err = w.pipe.wait()
	}
	if w.err != nil {
		return BlobID{}, w.err
	}
	if w.header == nil {
		return BlobID{}, fmt.Errorf("store: closing blob without a header: %w", ErrInvalid)
	}
	if err := w.commit(w.buf, w.header, w.seq); err != nil {
		w.err = err
		return BlobID{}, err
	}
	w.closed, w.buf, w.header = true, nil, nil
	return w.id, nil
}

// Abort stops the committer (dropping the batches not yet committing and
// waiting for the one that is) and deletes everything written for the blob,
// closed or not, as long as no case has committed it; otherwise it returns
// ErrNotPending and deletes nothing. Aborting twice is a no-op.
func (w *BlobWriter) Abort() error {
	if w.err == errAborted {
		return nil
	}
	w.pipe.stop()
	w.closed, w.buf, w.header, w.err = true, nil, nil, errAborted
	return w.s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPending).Get(w.id[:]) == nil {
			return fmt.Errorf("store: aborting blob: %w", ErrNotPending)
		}
		_, err := deleteBlob(tx, w.id)
		return err
	})
}

// errAborted marks an aborted writer.
var errAborted = fmt.Errorf("store: blob aborted: %w", ErrClosed)

// deleteBlob removes a blob's chunks, header and pending mark, and returns
// how many chunks it removed.
func deleteBlob(tx *bolt.Tx, id BlobID) (int, error) {
	chunks := tx.Bucket(bucketChunks)
	var keys [][]byte
	c := chunks.Cursor()
	for k, _ := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, _ = c.Next() {
		keys = append(keys, clone(k)) // bbolt cursors can skip keys when deleting mid-iteration
	}
	for _, k := range keys {
		if err := chunks.Delete(k); err != nil {
			return 0, err
		}
	}
	if err := tx.Bucket(bucketHeaders).Delete(id[:]); err != nil {
		return 0, err
	}
	return len(keys), tx.Bucket(bucketPending).Delete(id[:])
}

// sweepPending deletes every pending blob whose creation day matches.
func sweepPending(tx *bolt.Tx, match func(day.Day) bool) (Sweep, error) {
	var ids []BlobID
	err := tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
		if len(k) != len(BlobID{}) || len(v) != 4 {
			return fmt.Errorf("%w: pending mark", ErrCorrupt)
		}
		if match(day.Day(int32(binary.BigEndian.Uint32(v)))) {
			ids = append(ids, BlobID(k))
		}
		return nil
	})
	var sw Sweep
	for _, id := range ids {
		if err != nil {
			break
		}
		if tx.Bucket(bucketHeaders).Get(id[:]) != nil {
			sw.Headers++
		}
		var n int
		n, err = deleteBlob(tx, id)
		sw.Blobs, sw.Chunks = sw.Blobs+1, sw.Chunks+n
	}
	return sw, err
}

// SweepPending deletes pending blobs created before the given day: a
// periodic job for a long-running server, since Open sweeps only at start. A
// writer still in progress whose blob is swept fails with ErrNotPending.
func (s *Store) SweepPending(before day.Day) (Sweep, error) {
	var sw Sweep
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		sw, err = sweepPending(tx, func(d day.Day) bool { return d < before })
		return err
	})
	return sw, err
}

// Blob reads a committed blob. Header and Size are fixed when it is opened;
// Read returns the payload, reading one chunk per short read transaction and
// copying it out, so a slow reader never holds the store. A Blob is not safe
// for concurrent use.
type Blob struct {
	ID     BlobID
	Header []byte // the age header (the caller's copy)
	Size   int64  // payload size in bytes (without the header)

	s      *Store
	chunks uint32 // number of chunks
	next   uint32 // next chunk to load
	buf    []byte // current chunk
	off    int    // read offset in buf
}

// OpenBlob opens a committed blob. Pending blobs are not found.
func (s *Store) OpenBlob(id BlobID) (*Blob, error) {
	b := &Blob{ID: id, s: s}
	err := s.view(func(tx *bolt.Tx) error {
		h := tx.Bucket(bucketHeaders).Get(id[:])
		if h == nil || tx.Bucket(bucketPending).Get(id[:]) != nil {
			return fmt.Errorf("store: opening blob: %w", ErrNotFound)
		}
		b.Header = clone(h)
		b.chunks, b.Size = blobChunks(tx, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// blobChunks counts a blob's chunks and payload bytes.
func blobChunks(tx *bolt.Tx, id BlobID) (n uint32, size int64) {
	c := tx.Bucket(bucketChunks).Cursor()
	for k, v := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Next() {
		n, size = n+1, size+int64(len(v))
	}
	return n, size
}

// Read reads payload bytes. It fails with ErrNotFound if the blob is deleted
// while being read.
func (b *Blob) Read(p []byte) (int, error) {
	for b.off == len(b.buf) {
		if b.next == b.chunks {
			return 0, io.EOF
		}
		if err := b.load(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.off:])
	b.off += n
	return n, nil
}

// load copies the next chunk into b.buf.
func (b *Blob) load() error {
	return b.s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketChunks).Get(chunkKey(b.ID, b.next))
		if v == nil {
			return fmt.Errorf("store: reading blob: chunk missing: %w", ErrNotFound)
		}
		b.buf, b.off = append(b.buf[:0], v...), 0
		b.next++
		return nil
	})
}
