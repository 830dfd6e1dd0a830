package store

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// openBatched opens a store with testChunk chunks, batchChunks per commit and the default
// InFlight.
func openBatched(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "candor.db")
	opts := testOptions()
	opts.CommitChunks = batchChunks
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetLogOrigin(testOrigin) // refused (and kept) once the log has entries
	t.Cleanup(func() { s.Close() })
	return s, path
}

// errDisk stands for a failed fsync.
var errDisk = errors.New("injected: fdatasync: input/output error")

// TestCommitterFailure fails the commit of the third batch (as a failed fsync would): the error
// surfaces on a Write at most InFlight batches later, again on Close, only whole batches before
// the failed one were ever stored, and Abort leaves nothing behind.
func TestCommitterFailure(t *testing.T) {
	s, _ := openBatched(t)
	const failAt = 2 * batchChunks // first chunk of the third batch
	s.failCommit = func(seq uint32) error {
		if seq == failAt {
			return errDisk
		}
		return nil
	}
	w, _ := s.NewBlob()
	w.SetHeader([]byte("h"))
	var err error
	written := 0
	for b := 0; b < 3+DefaultInFlight+1 && err == nil; b++ {
		_, err = w.Write(payload(uint64(b), batchChunks*testChunk))
		written = b + 1
	}
	if !errors.Is(err, errDisk) {
		t.Fatalf("after %d batches Write = %v, want the committer's %v", written, err, errDisk)
	}
	_, err = w.Write([]byte("x"))
	mustIs(t, err, errDisk)
	_, err = w.Close()
	mustIs(t, err, errDisk)
	if n := keyCounts(t, s); n["chunks"] != failAt || n["headers"] != 0 || n["pending"] != 1 {
		t.Errorf("before Abort: %v, want the %d chunks of the two batches before the failure, no header", n, failAt)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if n := keyCounts(t, s); n["chunks"]+n["headers"]+n["pending"] != 0 {
		t.Errorf("after Abort: %v, want nothing", n)
	}
	checkInvariants(t, s)
}

// TestCommitterFailureOnClose fails the commit of the last full batch, which Close waits for:
// Close returns the error and stores no header.
func TestCommitterFailureOnClose(t *testing.T) {
	s, _ := openBatched(t)
	s.failCommit = func(seq uint32) error {
		if seq == batchChunks {
			return errDisk
		}
		return nil
	}
	w, _ := s.NewBlob()
	w.SetHeader([]byte("h"))
	if _, err := w.Write(payload(1, 2*batchChunks*testChunk+5)); err != nil {
		t.Fatalf("Write = %v, want nil (the failure happens after the hand-off)", err)
	}
	_, err := w.Close()
	mustIs(t, err, errDisk)
	if n := keyCounts(t, s); n["chunks"] != batchChunks || n["headers"] != 0 {
		t.Errorf("after the failed Close: %v, want the first batch's %d chunks and no header", n, batchChunks)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if n := keyCounts(t, s); n["chunks"]+n["headers"]+n["pending"] != 0 {
		t.Errorf("after Abort: %v, want nothing", n)
	}
}

// TestStoreClosedMidWrite closes the store while a writer's batches are in flight: the writer
// fails with ErrClosed (on a Write or on Close), and the next Open sweeps what it had committed,
// keeping the case committed before.
func TestStoreClosedMidWrite(t *testing.T) {
	s, path := openBatched(t)
	committed := createCase(t, s, 1, []byte("header 1"), payload(1, committedData))
	w, _ := s.NewBlob()
	w.SetHeader([]byte("h"))
	var err error
	for b := 0; b < 4; b++ {
		_, err = w.Write(payload(uint64(b), batchChunks*testChunk))
	}
	if err == nil {
		s.Close()
		for b := 0; b < DefaultInFlight+1 && err == nil; b++ {
			_, err = w.Write(payload(uint64(b), batchChunks*testChunk))
		}
		if err == nil {
			_, err = w.Close()
		}
	}
	mustIs(t, err, ErrClosed)
	s.Close()
	s, sw := reopenPath(t, path)
	if sw.Blobs != 1 || sw.Chunks%batchChunks != 0 || sw.Headers != 0 {
		t.Errorf("Swept = %+v, want 1 blob of whole batches, no header", sw)
	}
	if c, err := s.Case(committed.ID); err != nil || len(c.Messages) != 1 {
		t.Errorf("the earlier case: %v", err)
	}
	if n := keyCounts(t, s); n["pending"] != 0 || n["headers"] != 1 {
		t.Errorf("after reopen: %v, want only the earlier case's blob", n)
	}
	checkInvariants(t, s)
}

func reopenPath(t *testing.T, path string) (*Store, Sweep) {
	t.Helper()
	s, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetLogOrigin(testOrigin) // refused (and kept) once the log has entries
	t.Cleanup(func() { s.Close() })
	return s, s.Swept()
}

// TestAbortWaitsForCommitter aborts while one batch is committing (held inside its transaction)
// and another waits: Abort returns only after the committing one finished, the waiting one is
// never committed, and nothing of the blob remains.
func TestAbortWaitsForCommitter(t *testing.T) {
	s, _ := openBatched(t)
	inside, release := make(chan struct{}), make(chan struct{})
	var commits []uint32
	s.failCommit = func(seq uint32) error {
		commits = append(commits, seq)
		if seq == 0 {
			close(inside)
			<-release
		}
		return nil
	}
	w, _ := s.NewBlob()
	if _, err := w.Write(payload(1, DefaultInFlight*batchChunks*testChunk+5)); err != nil {
		t.Fatal(err)
	}
	<-inside
	aborted := make(chan error, 1)
	go func() { aborted <- w.Abort() }()
	// Release the first batch only once Abort has stopped the pipeline: released earlier, the
	// committer could take the queued batch before Abort runs (a race in this test, not in Abort).
	for deadline := time.Now().Add(time.Minute); !w.pipe.stopped(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Abort did not stop the pipeline")
		}
	}
	// Abort cannot finish while the first batch's transaction is open (the store's
	// single writer); let it go.
	close(release)
	if err := <-aborted; err != nil {
		t.Fatal(err)
	}
	if len(commits) != 1 {
		t.Errorf("commits started for chunks %v, want only the first batch's (0): the queued one is dropped", commits)
	}
	if n := keyCounts(t, s); n["chunks"]+n["headers"]+n["pending"] != 0 {
		t.Errorf("after Abort: %v, want nothing", n)
	}
}

// TestPipelineMemoryBound writes 40 batches and checks that the committer saw at most
// InFlight+1 distinct buffers (the writer recycles them) and at most InFlight batches in flight.
func TestPipelineMemoryBound(t *testing.T) {
	s, _ := openBatched(t)
	w, _ := s.NewBlob()
	var mu sync.Mutex
	bufs := map[unsafe.Pointer]bool{}
	most := 0
	w.pipe.commit = func(b batch) error {
		mu.Lock()
		bufs[unsafe.Pointer(unsafe.SliceData(b.data))] = true
		mu.Unlock()
		w.pipe.mu.Lock()
		most = max(most, w.pipe.inFlight)
		w.pipe.mu.Unlock()
		return w.commitBatch(b)
	}
	w.SetHeader([]byte("h"))
	want := payload(7, 40*batchChunks*testChunk+3)
	for p := want; len(p) > 0; p = p[min(len(p), 3000):] {
		if _, err := w.Write(p[:min(len(p), 3000)]); err != nil {
			t.Fatal(err)
		}
	}
	id, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(bufs) > DefaultInFlight+1 || most > DefaultInFlight {
		t.Errorf("%d distinct batch buffers, at most %d in flight; want ≤ %d and ≤ %d", len(bufs), most, DefaultInFlight+1, DefaultInFlight)
	}
	if _, err := s.CreateCase(newCase(1, id), []BlobID{id}, nil); err != nil {
		t.Fatal(err)
	}
	if _, got := readBlob(t, s, id); string(got) != string(want) {
		t.Errorf("read back %d bytes, want the %d written", len(got), len(want))
	}
}

func TestInFlightRange(t *testing.T) {
	for _, n := range []int{-1, MaxInFlight + 1} {
		if _, err := Open(filepath.Join(t.TempDir(), "x.db"), &Options{InFlight: n}); err == nil {
			t.Errorf("Open with InFlight %d succeeded, want an error", n)
		}
	}
}
