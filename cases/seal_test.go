package cases_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"candor/candortest"
	"candor/cases"
	"candor/installation"
	"candor/internal/frame"
	"candor/server/store"
)

// newService installs a store in a temporary directory with the reviewers' cards and returns it
// with the case service over it (one derivation at a time, the test KDF).
func newService(t *testing.T, reviewers ...candortest.Reviewer) (*store.Store, *cases.Service) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "candor.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var cards [][]byte
	for _, r := range reviewers {
		cards = append(cards, r.Card.Marshal())
	}
	if err := installation.Init(st, installation.InitOptions{KDF: candortest.KDF, Reviewers: cards}); err != nil {
		t.Fatal(err)
	}
	svc, err := cases.New(cases.Config{Store: st, Log: slog.New(slog.DiscardHandler), Now: time.Now, MaxKDF: 1, KDFWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return st, svc
}

// TestSubmitWithoutHTTP submits a report through package cases alone — recipients from a Form,
// parts from plain io.Readers through a Sealer, CreateCase — and checks that the chosen reviewer
// decrypts exactly what was sealed, that the reporter's receipt finds the case, and that an
// aborted Sealer leaves nothing in the store.
func TestSubmitWithoutHTTP(t *testing.T) {
	alice, bob := candortest.NewReviewer(t, "Alice"), candortest.NewReviewer(t, "Bob")
	st, svc := newService(t, alice, bob)
	msg := "the sergeant deletes the custody logs"
	f := &cases.Form{Message: &msg, Answers: map[string]string{}, Reviewers: []string{alice.FP}, ReviewerChoice: true}
	if _, err := svc.ChooseCategory(f); err != nil {
		t.Fatal(err)
	}
	fps, recipients, err := svc.ChooseReviewers(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(fps) != 1 || fps[0] != alice.FP {
		t.Fatalf("reviewers %v, want only Alice", fps)
	}
	file := make([]byte, 300<<10)
	rand.Read(file)

	sl, err := svc.NewSealer(recipients, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sl.Text(frame.KindMessage, "message", msg); err != nil {
		t.Fatal(err)
	}
	w, err := sl.File("log.bin", "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	sealed, err := sl.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if sealed.Files != 1 {
		t.Errorf("Sealed.Files = %d, want 1", sealed.Files)
	}
	nc, err := svc.CreateCase(context.Background(), sealed, "", fps)
	if err != nil {
		t.Fatal(err)
	}

	key, err := svc.Derive(context.Background(), nc.Code)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := st.CaseByLookup(key.Lookup)
	if err != nil {
		t.Fatalf("the receipt finds no case: %v", err)
	}
	if len(cs.Messages) != 1 || cs.Messages[0].Blob != sealed.ID {
		t.Fatalf("case messages %+v, want the sealed blob", cs.Messages)
	}
	read := func(id *age.HybridIdentity) (map[string][]byte, error) {
		fr, err := svc.OpenSealed(sealed.ID, id)
		if err != nil {
			return nil, err
		}
		parts := map[string][]byte{}
		for {
			p, err := fr.Next()
			if err == io.EOF {
				return parts, nil
			}
			if err != nil {
				return nil, err
			}
			b, err := io.ReadAll(fr)
			if err != nil {
				return nil, err
			}
			parts[p.Name] = b
		}
	}
	parts, err := read(alice.ID)
	if err != nil {
		t.Fatalf("Alice cannot read the report: %v", err)
	}
	if string(parts["message"]) != msg || !bytes.Equal(parts["log.bin"], file) {
		t.Errorf("Alice read %d parts that differ from what was sealed", len(parts))
	}
	if _, err := read(bob.ID); err == nil {
		t.Errorf("Bob, whom the reporter left out, decrypted the report")
	}

	// An aborted Sealer leaves no pending blob or chunk behind.
	before, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	sl2, err := svc.NewSealer(recipients, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, _ = sl2.File("half.bin", "application/octet-stream")
	if _, err := io.Copy(w, io.LimitReader(rand.Reader, 24<<20)); err != nil {
		t.Fatal(err)
	}
	if mid, err := st.Stats(); err != nil || mid.PendingBytes == 0 {
		t.Fatalf("nothing pending before Abort (%v): the check below would show nothing", err)
	}
	if err := sl2.Abort(); err != nil {
		t.Fatal(err)
	}
	after, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.Pending != before.Pending || after.PendingBytes != before.PendingBytes || after.Blobs != before.Blobs || after.Bytes != before.Bytes {
		t.Errorf("after Abort the store holds %d pending blobs (%d bytes) and %d blobs, before %d (%d bytes) and %d",
			after.Pending, after.PendingBytes, after.Blobs, before.Pending, before.PendingBytes, before.Blobs)
	}
	if _, err := sl2.Finish(); err == nil {
		t.Errorf("Finish after Abort succeeded")
	}
}
