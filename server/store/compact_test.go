package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
)

// fileContains reports whether the store file holds b anywhere, free pages included.
func fileContains(t *testing.T, path string, b []byte) bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(raw, b)
}

func TestCompactRemovesDeletedHeader(t *testing.T) {
	s := openTest(t)
	keepHeader, goneHeader := payload(1, 2000), payload(2, 2000)
	keep := createCase(t, s, 1, keepHeader, payload(3, 3*testChunk))
	gone := createCase(t, s, 2, goneHeader, payload(4, 3*testChunk))
	if _, err := s.DeleteCase(gone.ID, [][]byte{[]byte("deleted")}); err != nil {
		t.Fatal(err)
	}
	s.copyTx = 2 * testChunk // several transactions per bucket
	// bbolt frees the pages but does not wipe them: the header is still in the file.
	if !fileContains(t, s.Path(), goneHeader) {
		t.Fatal("precondition: the deleted header is not in the file before Compact; the test proves nothing")
	}
	if err := s.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fileContains(t, s.Path(), goneHeader) {
		t.Error("the deleted header survived Compact")
	}
	if fileContains(t, s.Path(), payload(4, 3*testChunk)[testChunk:2*testChunk]) {
		t.Error("a deleted chunk survived Compact")
	}
	if !fileContains(t, s.Path(), keepHeader) {
		t.Fatal("the kept header is not found in the file: the scan is broken")
	}

	// The store keeps working on the new file, across a reopen.
	if h, p := readBlob(t, s, keep.Messages[0].Blob); !bytes.Equal(h, keepHeader) || !bytes.Equal(p, payload(3, 3*testChunk)) {
		t.Error("kept blob changed by Compact")
	}
	after := createCase(t, s, 3, []byte("h"), []byte("p"))
	path := s.Path()
	s.Close()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetLogOrigin(testOrigin) // refused (and kept) once the log has entries
	defer s.Close()
	for _, id := range []CaseID{keep.ID, after.ID} {
		if _, err := s.Case(id); err != nil {
			t.Errorf("case after Compact and reopen: %v", err)
		}
	}
	if n, _ := s.LogSize(); n != 4 {
		t.Errorf("log size = %d, want 4", n)
	}
	if head, _ := s.FeedHead(); head != 4 {
		t.Errorf("feed head = %d, want 4 (bucket sequences survive Compact)", head)
	}
	checkInvariants(t, s)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after Compact, want 1", len(entries))
	}
}

func TestCompactCancelled(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("h"), []byte("p"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mustIs(t, s.Compact(ctx), context.Canceled)
	if _, err := s.Case(c.ID); err != nil {
		t.Errorf("store after a cancelled Compact: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Path()))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after a cancelled Compact, want 1", len(entries))
	}
}

// openBackup writes a backup to a file and opens it as a store.
func openBackup(t *testing.T, backup []byte) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "restored.db")
	if err := os.WriteFile(path, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetLogOrigin(testOrigin) // refused (and kept) once the log has entries
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBackupHoldsNoDeletedHeader(t *testing.T) {
	s := openTest(t)
	keep := createCase(t, s, 1, []byte("kept header"), payload(3, 2*testChunk))
	goneHeader := payload(2, 2000)
	gone := createCase(t, s, 2, goneHeader, payload(4, 2*testChunk))
	s.DeleteCase(gone.ID, nil)
	var buf bytes.Buffer
	n, err := s.Backup(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("Backup = %d, %v; wrote %d", n, err, buf.Len())
	}
	if bytes.Contains(buf.Bytes(), goneHeader) {
		t.Error("the deleted header is in the backup")
	}
	r := openBackup(t, buf.Bytes())
	if h, p := readBlob(t, r, keep.Messages[0].Blob); string(h) != "kept header" || !bytes.Equal(p, payload(3, 2*testChunk)) {
		t.Error("restored blob differs")
	}
	if _, err := r.Case(gone.ID); err == nil {
		t.Error("the deleted case is in the backup")
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Path()))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after Backup, want 1", len(entries))
	}
}

func TestBackupWhileWriting(t *testing.T) {
	s := openTest(t)
	var committed atomic.Int64
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			w, _ := s.NewBlob() // an upload in progress: pending in the backup
			w.Write(payload(9, testChunk))
			w.SetHeader([]byte("h"))
			id, err := w.Close()
			if err == nil {
				c := newCase(byte(i), id)
				c.Lookup[8], c.Lookup[9] = byte(i>>8), byte(i>>16)
				_, err = s.CreateCase(c, []BlobID{id}, nil)
			}
			if err != nil {
				done <- err
				return
			}
			committed.Add(1)
		}
	}()
	for round := range int64(3) {
		for committed.Load() <= 2*round {
			runtime.Gosched()
		}
		before := committed.Load()
		var buf bytes.Buffer
		if _, err := s.Backup(&buf); err != nil {
			t.Fatal(err)
		}
		r := openBackup(t, buf.Bytes())
		checkInvariants(t, r)
		st, err := r.Stats()
		if err != nil || int64(st.Cases) < before || st.Pending != 0 {
			t.Errorf("backup: %+v, %v; want at least %d cases and no pending blob (swept on open)", st, err, before)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentCompact runs writers and readers while Compact swaps the file.
func TestConcurrentCompact(t *testing.T) {
	s := openTest(t)
	errs := make(chan error, 4)
	for g := range 3 {
		go func() {
			var err error
			for i := 0; i < 8 && err == nil; i++ {
				err = writeAndRead(s, byte(g), i)
			}
			errs <- err
		}()
	}
	go func() {
		var err error
		for i := 0; i < 3 && err == nil; i++ {
			err = s.Compact(context.Background())
		}
		errs <- err
	}()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checkInvariants(t, s)
	if st, _ := s.Stats(); st.Cases != 24 {
		t.Errorf("%d cases, want 24", st.Cases)
	}
}

// writeAndRead writes a blob in several chunks, commits it as a case and reads it back.
func writeAndRead(s *Store, g byte, i int) error {
	data := payload(uint64(g)<<8|uint64(i), 3*testChunk+i)
	w, err := s.NewBlob()
	if err != nil {
		return err
	}
	for p := data; len(p) > 0; p = p[min(len(p), 500):] {
		if _, err := w.Write(p[:min(len(p), 500)]); err != nil {
			return err
		}
	}
	w.SetHeader([]byte{g})
	id, err := w.Close()
	if err != nil {
		return err
	}
	c := newCase(g, id)
	c.Lookup[8] = byte(i)
	if _, err := s.CreateCase(c, []BlobID{id}, [][]byte{{g}}); err != nil {
		return err
	}
	b, err := s.OpenBlob(id)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(b)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return errors.New("blob read back differs")
	}
	return nil
}

func TestOpenRemovesStaleTemporaryFiles(t *testing.T) {
	s := openTest(t)
	s.Close()
	stale := s.Path() + ".compact-123"
	other := filepath.Join(filepath.Dir(s.Path()), "unrelated.compact-1")
	for _, f := range []string{stale, other} {
		if err := os.WriteFile(f, []byte("old copy"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(s.Path(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale copy still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file was removed: %v", err)
	}
}
