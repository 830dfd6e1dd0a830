package store

import (
	"bytes"
	"io"
	"testing"
)

func TestBlobRoundTrip(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		name       string
		size, step int
	}{
		{"empty", 0, 1},
		{"one byte", 1, 1},
		{"chunk minus one", testChunk - 1, 100},
		{"one chunk", testChunk, testChunk},
		{"chunk plus one", testChunk + 1, 7},
		{"big writes", 5*testChunk + 3, 3 * testChunk},
		{"unaligned writes", 4*testChunk + 17, testChunk + 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, data := payload(uint64(100+i), 300), payload(uint64(i), tt.size)
			id := writeBlob(t, s, header, data, tt.step)
			if _, err := s.OpenBlob(id); err == nil {
				t.Fatal("OpenBlob found a pending blob")
			}
			c := newCase(byte(i), id)
			if _, err := s.CreateCase(c, []BlobID{id}, nil); err != nil {
				t.Fatal(err)
			}
			gotHeader, got := readBlob(t, s, id)
			if !bytes.Equal(gotHeader, header) || !bytes.Equal(got, data) {
				t.Errorf("read back %d+%d bytes, want %d+%d identical bytes", len(gotHeader), len(got), len(header), len(data))
			}
			if got, want := c.Messages[0].Size, int64(len(header)+len(data)); got != want {
				t.Errorf("Message.Size = %d, want %d", got, want)
			}
		})
	}
	checkInvariants(t, s)
}

func TestBlobChunking(t *testing.T) {
	s := openTest(t)
	w, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	// Write hands each full chunk to the committer, which makes it durable
	// (wait waits for it, as Close does); the tail waits for Close.
	if _, err := w.Write(payload(1, 2*testChunk+10)); err != nil {
		t.Fatal(err)
	}
	if err := w.pipe.wait(); err != nil {
		t.Fatal(err)
	}
	if got := keyCounts(t, s)["chunks"]; got != 2 {
		t.Errorf("after writing 2 chunks and 10 bytes: %d chunks stored, want 2", got)
	}
	w.SetHeader([]byte("hdr"))
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := keyCounts(t, s); got["chunks"] != 3 || got["headers"] != 1 || got["pending"] != 1 {
		t.Errorf("after Close: %v, want 3 chunks, 1 header, 1 pending", got)
	}
}

func TestBlobWriterContract(t *testing.T) {
	s := openTest(t)
	w, _ := s.NewBlob()
	mustIs(t, w.SetHeader(nil), ErrInvalid)
	mustIs(t, w.SetHeader(make([]byte, MaxHeaderSize+1)), ErrInvalid)
	w.Write([]byte("x"))
	_, err := w.Close()
	mustIs(t, err, ErrInvalid) // no header

	h := []byte("header")
	w.SetHeader(h)
	h[0] = 'X' // SetHeader copies
	id, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write([]byte("more"))
	mustIs(t, err, ErrClosed)
	_, err = w.Close()
	mustIs(t, err, ErrClosed)

	if _, err := s.CreateCase(newCase(1, id), []BlobID{id}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := readBlob(t, s, id); string(got) != "header" {
		t.Errorf("header = %q, want %q", got, "header")
	}
	mustIs(t, w.Abort(), ErrNotPending) // committed blobs are not aborted
	if _, data := readBlob(t, s, id); string(data) != "x" {
		t.Errorf("payload after refused Abort = %q, want %q", data, "x")
	}
}

func TestAbort(t *testing.T) {
	for _, closeFirst := range []bool{false, true} {
		s := openTest(t)
		w, _ := s.NewBlob()
		w.SetHeader([]byte("h"))
		w.Write(payload(1, 3*testChunk+5))
		if closeFirst {
			if _, err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Errorf("second Abort: %v", err)
		}
		n := keyCounts(t, s)
		if n["chunks"]+n["headers"]+n["pending"] != 0 {
			t.Errorf("closeFirst=%v: after Abort: %v, want no chunks, headers or pending", closeFirst, n)
		}
		_, err := w.Write([]byte("x"))
		mustIs(t, err, ErrClosed)
	}
}

func TestOpenBlobMissing(t *testing.T) {
	s := openTest(t)
	_, err := s.OpenBlob(BlobID{1})
	mustIs(t, err, ErrNotFound)
}

func TestBlobDeletedWhileReading(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("h"), payload(1, 3*testChunk))
	b, err := s.OpenBlob(c.Messages[0].Blob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(b, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCase(c.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(b)
	mustIs(t, err, ErrNotFound)
}

func TestWriterFailsAfterSweep(t *testing.T) {
	s := openTest(t)
	w, _ := s.NewBlob()
	w.Write(payload(1, testChunk))
	if err := w.pipe.wait(); err != nil {
		t.Fatal(err)
	}
	sw, err := s.SweepPending(testDay.AddDays(1))
	if err != nil {
		t.Fatal(err)
	}
	if sw.Blobs != 1 || sw.Chunks != 1 {
		t.Errorf("SweepPending = %+v, want 1 blob, 1 chunk", sw)
	}
	// The committer's failure surfaces on a later Write or, at the latest, on Close.
	_, err = w.Write(payload(2, testChunk))
	if err == nil {
		w.SetHeader([]byte("h"))
		_, err = w.Close()
	}
	mustIs(t, err, ErrNotPending)
	if n := keyCounts(t, s); n["chunks"] != 0 {
		t.Errorf("a swept writer stored %d chunks", n["chunks"])
	}
}

func TestSweepPendingKeepsRecentBlobs(t *testing.T) {
	s := openTest(t)
	w, _ := s.NewBlob()
	w.Write(payload(1, testChunk))
	sw, err := s.SweepPending(testDay) // created on testDay: not before it
	if err != nil || sw != (Sweep{}) {
		t.Fatalf("SweepPending = %+v, %v; want nothing swept", sw, err)
	}
	if _, err := w.Write(payload(2, testChunk)); err != nil {
		t.Fatal(err)
	}
}
