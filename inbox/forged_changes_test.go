package inbox_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"candor/crypto"
	"candor/inbox"
	"candor/internal/bundle"
	"candor/internal/envelope"
)

// pushChanges has B (who has replied, newReplyFixture) set the case's status to in-review and
// place a hold, through the server, and returns A's bundle holding them.
func (f *replyFixture) pushChanges() string {
	f.t.Helper()
	cs, err := f.b.List()
	if err != nil || len(cs) != 1 {
		f.t.Fatalf("B's list: %v, %v", cs, err)
	}
	if err := f.b.SetStatus(cs[0].Case, envelope.StatusInReview); err != nil {
		f.t.Fatal(err)
	}
	if err := f.b.Hold(cs[0].Case, true); err != nil {
		f.t.Fatal(err)
	}
	ob := filepath.Join(f.t.TempDir(), "outbox")
	if _, err := f.b.Outbox(ob); err != nil {
		f.t.Fatal(err)
	}
	obf, _ := os.Open(ob)
	defer obf.Close()
	if n, err := f.srv.Push(f.btoken, obf); err != nil || n < 2 {
		f.t.Fatalf("Push: %d, %v; want at least 2 envelopes accepted", n, err)
	}
	return f.pull("0")
}

// rewriteRecords re-signs the bundle at path with the real server key (the adversary is the
// server) after fn has rewritten its records; blobs keep their payloads.
func (f *replyFixture) rewriteRecords(path string, fn func([]bundle.Record) []bundle.Record) string {
	f.t.Helper()
	src, _ := os.ReadFile(path)
	r := bundle.NewReader(bytes.NewReader(src))
	var recs []bundle.Record
	payloads := map[bundle.Record][]byte{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.t.Fatal(err)
		}
		if _, ok := rec.(*bundle.Blob); ok {
			payloads[rec], _ = io.ReadAll(r)
		}
		recs = append(recs, rec)
	}
	var buf bytes.Buffer
	w := bundle.NewWriter(&buf)
	for _, rec := range fn(recs) {
		err := copyRecord(w, rec, bytes.NewReader(payloads[rec]), func(_ *bundle.Blob, p []byte) []byte { return p })
		if err != nil {
			f.t.Fatal(err)
		}
	}
	if err := w.Close(f.serverKey()); err != nil {
		f.t.Fatal(err)
	}
	out := filepath.Join(f.t.TempDir(), "forged")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// edit returns a rewrite that applies fn to the (single) case and its signed changes.
func edit(fn func(c *bundle.Case, changes []*bundle.Change) []*bundle.Change) func([]bundle.Record) []bundle.Record {
	return func(recs []bundle.Record) []bundle.Record {
		var c *bundle.Case
		var changes []*bundle.Change
		var out []bundle.Record
		at := -1
		for _, rec := range recs {
			switch rec := rec.(type) {
			case *bundle.Case:
				c = rec
			case *bundle.Change:
				changes = append(changes, rec)
				continue
			case *bundle.Card:
				if at < 0 {
					at = len(out)
				}
			}
			out = append(out, rec)
		}
		var ins []bundle.Record
		for _, ch := range fn(c, changes) {
			ins = append(ins, ch)
		}
		return append(out[:at], append(ins, out[at:]...)...)
	}
}

// TestForgedStatusAndHoldAreRefused: a status change or hold the server invented, altered,
// attributed to another reviewer, or claims in the case record without a reviewer's signature is
// refused with ErrForged and nothing is stored; the genuine bundle imports and the inbox shows B's
// signed status and hold.
func TestForgedStatusAndHoldAreRefused(t *testing.T) {
	f := newReplyFixture(t)
	genuine := f.pushChanges()
	acard, err := f.in.Card()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// signed returns a status change of the case signed by key in author's name.
	signed := func(c *bundle.Case, author string, key *crypto.SigningKey, seq uint64, status string) *bundle.Change {
		e := &envelope.Envelope{Kind: envelope.KindStatus, Reviewer: author, Seq: seq, Case: c.ID,
			Day: c.Received + 10, Status: status}
		if status == envelope.StatusClosed {
			e.Outcome = envelope.OutcomeReferred
		}
		if err := envelope.Sign(e, key); err != nil {
			t.Fatal(err)
		}
		return &bundle.Change{Case: c.ID, Kind: bundle.ChangeStatus, Author: author, Seq: seq, Day: e.Day,
			Status: status, Outcome: e.Outcome, Sig: e.Sig}
	}
	kind := func(chs []*bundle.Change, k bundle.ChangeKind) *bundle.Change {
		for _, ch := range chs {
			if ch.Kind == k {
				return ch
			}
		}
		t.Fatalf("the genuine bundle holds no change of kind %d", k)
		return nil
	}
	type fn = func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change
	tests := []struct {
		name string
		fn   fn
	}{
		{"status claimed without a signature", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			c.Status = envelope.StatusClosed
			return chs
		}},
		{"hold dropped", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change { c.Holds = nil; return chs }},
		{"hold invented for A", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			c.Holds = append(c.Holds, f.fp)
			return chs
		}},
		{"status change altered", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			ch := kind(chs, bundle.ChangeStatus)
			ch.Status, ch.Outcome, c.Status = envelope.StatusClosed, envelope.OutcomeReferred, envelope.StatusClosed
			return chs
		}},
		{"hold flipped to a release", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			kind(chs, bundle.ChangeHold).Hold, c.Holds = false, nil
			return chs
		}},
		{"signature altered", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			s := kind(chs, bundle.ChangeHold).Sig
			s[len(s)/2] ^= 1
			return chs
		}},
		{"day changed", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			kind(chs, bundle.ChangeStatus).Day++
			return chs
		}},
		{"attributed to A", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			kind(chs, bundle.ChangeHold).Author, c.Holds = f.fp, []string{f.fp}
			return chs
		}},
		{"changes reordered", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			return []*bundle.Change{chs[1], chs[0]}
		}},
		{"change replayed", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			return append(chs, chs[0])
		}},
		{"closed by the server key in B's name", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			c.Status = envelope.StatusClosed
			return append(chs, signed(c, f.bfp, f.serverKey(), 1000, envelope.StatusClosed))
		}},
		{"closed by a stranger in B's name", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			c.Status = envelope.StatusClosed
			return append(chs, signed(c, f.bfp, stranger, 1000, envelope.StatusClosed))
		}},
		{"closed by an author with no card", func(c *bundle.Case, chs []*bundle.Change) []*bundle.Change {
			card, _ := crypto.NewCard("Mallory", acard.Recipient().String(), stranger)
			c.Status = envelope.StatusClosed
			return append(chs, signed(c, card.Fingerprint(), stranger, 1, envelope.StatusClosed))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.in.Import(f.rewriteRecords(genuine, edit(tt.fn)))
			if !errors.Is(err, inbox.ErrForged) {
				t.Fatalf("Import: got %v, want ErrForged", err)
			}
			if cs := f.list(); len(cs) != 0 {
				t.Fatalf("after a refused import the inbox lists %d cases, want 0", len(cs))
			}
		})
	}
	f.importOK(genuine)
	cs := f.list()
	if len(cs) != 1 || cs[0].Status != envelope.StatusInReview || !reflect.DeepEqual(cs[0].Holds, []string{f.bfp}) {
		t.Fatalf("after the genuine import: got %+v, want status in-review held by %s", cs, f.bfp)
	}
	// A's genuine status change: the latest change decides, B's hold stays.
	if err := f.in.CloseCase(cs[0].Case, envelope.OutcomeReferred); err != nil {
		t.Fatal(err)
	}
	ob := filepath.Join(t.TempDir(), "outbox")
	if _, err := f.in.Outbox(ob); err != nil {
		t.Fatal(err)
	}
	obf, _ := os.Open(ob)
	defer obf.Close()
	if _, err := f.srv.Push(f.token, obf); err != nil {
		t.Fatal(err)
	}
	f.importOK(f.pull("0"))
	if cs := f.list(); cs[0].Status != envelope.StatusClosed || !reflect.DeepEqual(cs[0].Holds, []string{f.bfp}) {
		t.Fatalf("after A's change: got %+v, want status closed held by %s", cs[0], f.bfp)
	}
}
