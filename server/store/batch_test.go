package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// batchChunks is the CommitChunks of the batched tests.
const batchChunks = 4

// TestBatchedWriteRoundTrip writes blobs of sizes around the batch boundaries
// in pieces of several sizes with CommitChunks > 1 and reads them back whole.
func TestBatchedWriteRoundTrip(t *testing.T) {
	opts := testOptions()
	opts.CommitChunks = batchChunks
	s, err := Open(filepath.Join(t.TempDir(), "candor.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetLogOrigin(testOrigin) // refused (and kept) once the log has entries
	defer s.Close()
	batch := batchChunks * testChunk
	seed := byte(0)
	for _, size := range []int{0, 1, testChunk, batch - 1, batch, batch + 1, 3*batch + testChunk/2} {
		for _, piece := range []int{1 << 20, 100, batch} {
			t.Run(fmt.Sprintf("size=%d/piece=%d", size, piece), func(t *testing.T) {
				want := payload(uint64(size), size)
				id := writeBlob(t, s, []byte("header"), want, piece)
				seed++
				if _, err := s.CreateCase(newCase(seed, id), []BlobID{id}, [][]byte{{seed}}); err != nil {
					t.Fatal(err)
				}
				_, got := readBlob(t, s, id)
				if !bytes.Equal(got, want) {
					t.Errorf("got %d bytes back, want the %d written", len(got), size)
				}
			})
		}
	}
}

// TestKillMidBatchedWrite kills a writer with CommitChunks 4 after its 21st
// chunk: of the five full batches Write had handed off, all but the
// DefaultInFlight the committer may still have held were durable (and are
// swept as pending) — only whole batches —, the buffered 21st chunk never
// reached the file.
func TestKillMidBatchedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "candor.db")
	committed := crash(t, path, "batch", func(l string) bool { return l == "chunk 20" })
	_, sw := reopen(t, path, committed)
	least := 20 - DefaultInFlight*batchChunks
	if sw.Blobs != 1 || sw.Chunks < least || sw.Chunks%batchChunks != 0 || sw.Headers != 0 {
		t.Errorf("Swept = %+v, want 1 blob, at least %d chunks in whole batches of %d, no header", sw, least, batchChunks)
	}
}

func TestCommitChunksRange(t *testing.T) {
	for _, n := range []int{-1, MaxCommitChunks + 1} {
		if _, err := Open(filepath.Join(t.TempDir(), "x.db"), &Options{CommitChunks: n}); err == nil {
			t.Errorf("Open with CommitChunks %d succeeded, want an error", n)
		}
	}
}
