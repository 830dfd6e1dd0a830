package inbox_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"candor/candortest"
	"candor/crypto"
	"candor/inbox"
	"candor/internal/bundle"
	"candor/internal/envelope"
	"candor/server/store"
)

// replyFixture is a case on reviewers A (f.in) and B, where B has replied through the server:
// genuine is A's bundle holding the report and B's signed reply.
type replyFixture struct {
	*fixture
	b       *inbox.Inbox
	bfp     string
	btoken  string
	genuine string
}

func newReplyFixture(t *testing.T) *replyFixture {
	t.Helper()
	f := newFixture(t)
	cfg := inbox.Config{Home: filepath.Join(f.dir, "inbox-b"), WorkFactor: 10,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }}
	card, err := inbox.Init(cfg, "Bob", []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	bfp, btoken, err := f.srv.AddReviewer(card.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	b, err := inbox.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.TrustServer(f.srv.ServerKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Submit("the report", []string{f.fp, bfp}); err != nil {
		t.Fatal(err)
	}
	bundleB := filepath.Join(t.TempDir(), "bundle-b")
	out, _ := os.Create(bundleB)
	if err := f.srv.Pull(btoken, "", out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if _, err := b.Import(bundleB); err != nil {
		t.Fatal(err)
	}
	cs, err := b.List()
	if err != nil || len(cs) != 1 {
		t.Fatalf("B's list: %v, %v", cs, err)
	}
	if err := b.Reply(cs[0].Case, "the genuine reply of Bob", nil); err != nil {
		t.Fatal(err)
	}
	ob := filepath.Join(t.TempDir(), "outbox")
	if _, err := b.Outbox(ob); err != nil {
		t.Fatal(err)
	}
	obf, _ := os.Open(ob)
	defer obf.Close()
	if _, err := f.srv.Push(btoken, obf); err != nil {
		t.Fatal(err)
	}
	var signed int
	f.srv.Store.Cases(func(c *store.Case) error {
		for _, m := range c.Messages {
			if m.Kind == store.KindReply && m.Author == bfp && m.Signature != nil && len(m.Signature.Sig) > 0 {
				signed++
			}
		}
		return nil
	})
	if signed != 1 {
		t.Fatalf("the server stored %d signed replies, want 1", signed)
	}
	return &replyFixture{fixture: f, b: b, bfp: bfp, btoken: btoken, genuine: f.pull("0")}
}

// rewrite re-signs the genuine bundle with the real server key (the adversary is the server),
// passing every reply blob and its payload through fn.
func (f *replyFixture) rewrite(fn func(b *bundle.Blob, payload []byte) []byte) string {
	f.t.Helper()
	src, _ := os.ReadFile(f.genuine)
	r := bundle.NewReader(bytes.NewReader(src))
	var buf bytes.Buffer
	w := bundle.NewWriter(&buf)
	replies := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = copyRecord(w, rec, r, func(b *bundle.Blob, p []byte) []byte { replies++; return fn(b, p) })
		}
		if err != nil {
			f.t.Fatal(err)
		}
	}
	if err := w.Close(f.serverKey()); err != nil {
		f.t.Fatal(err)
	}
	if replies != 1 {
		f.t.Fatalf("the genuine bundle holds %d replies, want 1", replies)
	}
	p := filepath.Join(f.t.TempDir(), "forged")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func copyRecord(w *bundle.Writer, rec bundle.Record, r io.Reader, reply func(*bundle.Blob, []byte) []byte) error {
	b, ok := rec.(*bundle.Blob)
	if !ok || b.Kind != bundle.BlobReply {
		return candortest.CopyRecord(w, rec, r)
	}
	p, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	p = reply(b, p)
	b.Size = int64(len(p))
	return candortest.CopyRecord(w, rec, bytes.NewReader(p))
}

// TestForgedReplyIsRefused: replies the server invented, altered or attributed to another
// reviewer are refused with ErrForged and nothing of the bundle is stored; the genuine bundle then
// imports, and A reads B's reply under B's name and fingerprint.
func TestForgedReplyIsRefused(t *testing.T) {
	f := newReplyFixture(t)
	acard, err := f.in.Card()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	strangerCard, err := crypto.NewCard("Bob", acard.Recipient().String(), stranger)
	if err != nil {
		t.Fatal(err)
	}
	// invent replaces the reply with a new age file signed by key in B's name.
	invent := func(author string, key *crypto.SigningKey) func(*bundle.Blob, []byte) []byte {
		return func(b *bundle.Blob, _ []byte) []byte {
			var file bytes.Buffer
			w, _ := age.Encrypt(&file, acard.Recipient())
			io.WriteString(w, "FORGED instructions: drop the case")
			w.Close()
			e := &envelope.Envelope{Kind: envelope.KindReply, Reviewer: author, Seq: b.Seq + 1, Case: b.Case,
				Day: b.SignedDay, Body: file.Bytes()}
			if err := envelope.Sign(e, key); err != nil {
				t.Fatal(err)
			}
			hdr, payload, err := crypto.SplitHeader(bytes.NewReader(file.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(payload)
			b.Author, b.Header, b.Seq, b.Sig = author, hdr, e.Seq, e.Sig
			return rest
		}
	}
	tests := []struct {
		name string
		fn   func(b *bundle.Blob, p []byte) []byte
	}{
		{"signature dropped", func(b *bundle.Blob, p []byte) []byte { b.Sig = nil; return p }},
		{"signature altered", func(b *bundle.Blob, p []byte) []byte { b.Sig[len(b.Sig)/2] ^= 1; return p }},
		{"ed25519 half altered", func(b *bundle.Blob, p []byte) []byte { b.Sig[0] ^= 1; return p }},
		{"attributed to A", func(b *bundle.Blob, p []byte) []byte { b.Author = f.fp; return p }},
		{"sequence changed", func(b *bundle.Blob, p []byte) []byte { b.Seq++; return p }},
		{"day changed", func(b *bundle.Blob, p []byte) []byte { b.SignedDay--; return p }},
		{"payload altered", func(b *bundle.Blob, p []byte) []byte { p[len(p)-1] ^= 1; return p }},
		{"age header altered", func(b *bundle.Blob, p []byte) []byte {
			b.Header = bytes.Replace(b.Header, []byte("\n--- "), []byte("\n-> x\n\n--- "), 1)
			return p
		}},
		{"signed by a stranger in B's name", invent(f.bfp, stranger)},
		{"author with no card", invent(strangerCard.Fingerprint(), stranger)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.in.Import(f.rewrite(tt.fn))
			if !errors.Is(err, inbox.ErrForged) {
				t.Fatalf("Import: got %v, want ErrForged", err)
			}
			if strings.Contains(err.Error(), "FORGED instructions") || strings.Contains(err.Error(), "genuine reply") {
				t.Errorf("the error %q holds reply content", err)
			}
			if cs := f.list(); len(cs) != 0 {
				t.Fatalf("after a refused import the inbox lists %d cases, want 0", len(cs))
			}
		})
	}
	f.importOK(f.genuine)
	// The genuine reply again, under a new blob ID, after the inbox imported it: a replay.
	replay := f.rewrite(func(b *bundle.Blob, p []byte) []byte { b.ID[0] ^= 1; return p })
	if _, err := f.in.Import(replay); !errors.Is(err, inbox.ErrForged) || !strings.Contains(err.Error(), "replayed") {
		t.Errorf("Import of a replayed reply: got %v, want ErrForged (replayed)", err)
	}
	f.importOK(f.genuine) // importing the same bundle again changes nothing
	var out bytes.Buffer
	if err := f.in.Read(f.list()[0].Case, &out); err != nil {
		t.Fatal(err)
	}
	want := "reply from Bob (" + f.bfp + "), "
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "signature verified ---") ||
		!strings.Contains(out.String(), "the genuine reply of Bob") {
		t.Errorf("Read:\n%s\nwant %q and the reply's text", out.String(), want)
	}
}
