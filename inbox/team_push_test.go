package inbox_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"candor/crypto"
	"candor/internal/envelope"
	"candor/internal/frame"
	"candor/server/store"
	"candor/syncclient"
)

// aliceKey decrypts the fixture reviewer's signing key, as only her inbox can.
func (f *fixture) aliceKey() *crypto.SigningKey {
	f.t.Helper()
	enc, err := os.ReadFile(filepath.Join(f.dir, "inbox", "signing.age"))
	if err != nil {
		f.t.Fatal(err)
	}
	id, _ := age.NewScryptIdentity(pass)
	r, err := age.Decrypt(bytes.NewReader(enc), id)
	if err != nil {
		f.t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(r)
	sk, err := crypto.ParseSigningKey(b.Bytes())
	if err != nil {
		f.t.Fatal(err)
	}
	return sk
}

// pushOne signs e with key in the fixture reviewer's name and pushes it; it returns the server's
// HTTP status (200 if accepted).
func (f *fixture) pushOne(e *envelope.Envelope, key *crypto.SigningKey, seq uint64) int {
	f.t.Helper()
	e.Reviewer, e.Seq = f.fp, seq
	if err := envelope.Sign(e, key); err != nil {
		f.t.Fatal(err)
	}
	var ob bytes.Buffer
	if err := envelope.WriteOutbox(&ob, []*envelope.Envelope{e}); err != nil {
		f.t.Fatal(err)
	}
	_, err := f.srv.Push(f.token, &ob)
	if apiErr, ok := errors.AsType[*syncclient.APIError](err); ok {
		return apiErr.Status
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return 200
}

// sealTo seals a small frame stream to recipients.
func sealTo(t *testing.T, text string, rs ...age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, rs...)
	if err != nil {
		t.Fatal(err)
	}
	fw := frame.NewWriter(w)
	pw, _ := fw.Part(frame.KindMessage, "", "text/plain")
	pw.Write([]byte(text))
	fw.Close()
	w.Close()
	return b.Bytes()
}

// TestServerRefusesForgedTeamEnvelopes: the server refuses, storing nothing, a note, an
// assignment or a deletion signed by another key in the reviewer's name (403), a note sealed to
// the reporter as well (400), an assignment to someone not on the case and a share with a
// removed reviewer (403), an early deletion of a held case (409) and a replayed sequence number
// (409).
func TestServerRefusesForgedTeamEnvelopes(t *testing.T) {
	f := newFixture(t)
	if _, err := f.srv.Submit("a report", nil); err != nil {
		t.Fatal(err)
	}
	f.importOK(f.pull(""))
	var id [16]byte
	f.srv.Store.Cases(func(c *store.Case) error { id = c.ID; return nil })
	cs, _ := f.srv.Store.Case(id)
	acard, _ := f.in.Card()
	reporter, _ := crypto.ParseRecipients([]string{cs.ReporterRecipient})
	key := f.aliceKey()
	stranger, _ := crypto.GenerateSigningKey(rand.Reader)
	note := sealTo(t, "NOTE", acard.Recipient())
	other, _ := age.GenerateHybridIdentity()
	otherCard, _ := crypto.NewCard("Dora", other.Recipient().String(), stranger)
	if _, _, err := f.srv.AddReviewer(otherCard.Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Store.DeleteReviewer(otherCard.Fingerprint(), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		e    *envelope.Envelope
		key  *crypto.SigningKey
		want int
	}{
		{"forged note", &envelope.Envelope{Kind: envelope.KindNote, Case: id, Body: note}, stranger, 403},
		{"forged assignment", &envelope.Envelope{Kind: envelope.KindAssign, Case: id, Target: f.fp}, stranger, 403},
		{"forged deletion", &envelope.Envelope{Kind: envelope.KindDelete, Case: id, Body: note}, stranger, 403},
		{"note sealed to the reporter too", &envelope.Envelope{Kind: envelope.KindNote, Case: id,
			Body: sealTo(t, "NOTE", append(reporter, acard.Recipient())...)}, key, 400},
		{"assignment to a non-reviewer", &envelope.Envelope{Kind: envelope.KindAssign, Case: id,
			Target: otherCard.Fingerprint()}, key, 403},
		{"share with a removed reviewer", &envelope.Envelope{Kind: envelope.KindShare, Case: id,
			Target: otherCard.Fingerprint(), Commitment: [32]byte{1}, Body: shareBody(t, cs)}, key, 403},
	}
	seq := uint64(100)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq++
			if got := f.pushOne(tt.e, tt.key, seq); got != tt.want {
				t.Errorf("got HTTP %d, want %d", got, tt.want)
			}
		})
	}
	after, _ := f.srv.Store.Case(id)
	if len(after.Messages) != 1 || after.Assignee != "" || len(after.Reviewers) != 1 {
		t.Errorf("a refused envelope changed the case: %d messages, lead %q, reviewers %v", len(after.Messages), after.Assignee, after.Reviewers)
	}
	if got := f.pushOne(&envelope.Envelope{Kind: envelope.KindHold, Case: id, Hold: true}, key, 200); got != 200 {
		t.Fatalf("hold: HTTP %d", got)
	}
	if got := f.pushOne(&envelope.Envelope{Kind: envelope.KindDelete, Case: id, Body: note}, key, 201); got != 409 {
		t.Errorf("early deletion of a held case: HTTP %d, want 409", got)
	}
	if got := f.pushOne(&envelope.Envelope{Kind: envelope.KindAssign, Case: id, Target: f.fp}, key, 200); got != 409 {
		t.Errorf("replayed sequence number: HTTP %d, want 409", got)
	}
}

func shareBody(t *testing.T, cs *store.Case) []byte {
	sb := envelope.ShareBody{Salt: [32]byte{1}}
	for _, m := range cs.Messages {
		sb.Blobs = append(sb.Blobs, envelope.Rewrapped{Blob: m.Blob, Header: []byte("age-encryption.org/v1\n-> X\n--- y\n")})
	}
	b, err := sb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
