package store_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"candor/internal/day"
	"candor/server/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "candor-store-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "candor.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// Name the case log (its leaves' tags depend on the name); the installation does this once.
	if err := s.SetLogOrigin("candor.invalid/example/epoch-1"); err != nil {
		log.Fatal(err)
	}

	// Stream a sealed submission into a pending blob. (The server gets header
	// and payload from crypto.Seal; here they are stand-ins.)
	w, err := s.NewBlob()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(w, strings.NewReader("…age payload…")); err != nil {
		w.Abort()
		log.Fatal(err)
	}
	w.SetHeader([]byte("age-encryption.org/v1\n…"))
	blob, err := w.Close()
	if err != nil {
		w.Abort()
		log.Fatal(err)
	}

	// Commit it as a new case: the case, the blob, a feed item and the log
	// entry become visible together.
	received, _ := day.Parse("2026-11-23") // in the server: day.FromTime(now())
	c := &store.Case{
		Category: "default", Received: received, Status: "received",
		Reviewers: []string{"abcd-efgh-ijkl-mnop-qrst-uvwx"},
		Lookup:    [32]byte{1}, // crypto.ReporterKey.Lookup
		Messages:  []store.Message{{Blob: blob, Kind: store.KindReport, Author: store.AuthorReporter, Day: received}},
	}
	idx, err := s.CreateCase(c, []store.BlobID{blob}, [][]byte{[]byte("case created")})
	if err != nil {
		w.Abort() // the blob is still pending: delete it
		log.Fatal(err)
	}

	// Read it back, as a reporter's follow-up would find it.
	got, err := s.CaseByLookup([32]byte{1})
	if err != nil {
		log.Fatal(err)
	}
	b, err := s.OpenBlob(got.Messages[0].Blob)
	if err != nil {
		log.Fatal(err)
	}
	payload, _ := io.ReadAll(b)
	fmt.Printf("received %s, status %s, log entry %d\n", got.Received, got.Status, idx[0])
	fmt.Printf("header %q\npayload %q, %d bytes stored\n", b.Header, payload, got.Messages[0].Size)
	// Output:
	// received 2026-11-23, status received, log entry 0
	// header "age-encryption.org/v1\n…"
	// payload "…age payload…", 42 bytes stored
}
