package inbox_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/tlog"

	"candor/crypto"
	"candor/inbox"
	"candor/internal/bundle"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server"
	"candor/server/store"
	"candor/server/synctest"
)

const pass = "correct horse battery staple"

type fixture struct {
	t     testing.TB
	srv   *synctest.Server
	in    *inbox.Inbox
	fp    string
	token string
	dir   string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg := inbox.Config{Home: filepath.Join(dir, "inbox"), WorkFactor: 10,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }}
	card, err := inbox.Init(cfg, "Alice", []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := synctest.Start(filepath.Join(dir, "srv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	fp, token, err := srv.AddReviewer(card.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	in, err := inbox.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return &fixture{t: t, srv: srv, in: in, fp: fp, token: token, dir: dir}
}

// pull writes the reviewer's bundle to a new file and returns its path.
func (f *fixture) pull(since string) string {
	f.t.Helper()
	p := filepath.Join(f.t.TempDir(), "bundle")
	out, _ := os.Create(p)
	defer out.Close()
	if err := f.srv.Pull(f.token, since, out); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) importOK(path string) *inbox.ImportResult {
	f.t.Helper()
	res, err := f.in.Import(path)
	if err != nil {
		f.t.Fatalf("Import: %v", err)
	}
	return res
}

func (f *fixture) list() []inbox.CaseInfo {
	f.t.Helper()
	cs, err := f.in.List()
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

func (f *fixture) serverKey() *crypto.SigningKey {
	b, err := f.srv.Store.Meta(server.MetaSigningKey)
	if err != nil {
		f.t.Fatal(err)
	}
	sk, err := crypto.ParseSigningKey(b)
	if err != nil {
		f.t.Fatal(err)
	}
	return sk
}

// forge writes a bundle signed with the real server key whose checkpoint has the given size and
// root, with the given consistency proofs: what a server that rewrote its log would send.
func (f *fixture) forge(size int64, root tlog.Hash, proofs map[int64]tlog.TreeProof) string {
	f.t.Helper()
	sk := f.serverKey()
	origin := readOrigin(f.t, f.pull(""))
	var buf bytes.Buffer
	w := bundle.NewWriter(&buf)
	must := func(err error) {
		if err != nil {
			f.t.Fatal(err)
		}
	}
	must(w.Header(&bundle.Header{ServerKey: sk.Public().Bytes(), ServerOrigin: origin, Reviewer: f.fp, Day: 20000}))
	cp := &logentry.SignedCheckpoint{Checkpoint: logentry.Checkpoint{Origin: origin, Size: size, Hash: root}}
	must(cp.Sign(sk))
	must(w.Checkpoint(cp))
	for n, p := range proofs {
		must(w.Consistency(&bundle.Consistency{FromSize: n, Proof: p}))
	}
	must(w.Close(sk))
	p := filepath.Join(f.t.TempDir(), "forged")
	must(os.WriteFile(p, buf.Bytes(), 0o600))
	return p
}

func readOrigin(t testing.TB, path string) string {
	b, _ := os.ReadFile(path)
	r := bundle.NewReader(bytes.NewReader(b))
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	return rec.(*bundle.Header).ServerOrigin
}

func randomHash() tlog.Hash {
	var h tlog.Hash
	rand.Read(h[:])
	return h
}

// TestForkAndRewriteAreRefused: after a genuine import, a bundle whose checkpoint has the same size
// but another root (a fork), one whose consistency proof fails (a rewrite), one without a proof,
// and one with a smaller unseen checkpoint (a rollback) are all refused with specific errors, and
// nothing of them is stored.
func TestForkAndRewriteAreRefused(t *testing.T) {
	f := newFixture(t)
	if _, err := f.srv.Submit("first report", nil); err != nil {
		t.Fatal(err)
	}
	res := f.importOK(f.pull(""))
	size := res.Size
	before := f.list()
	tests := []struct {
		name   string
		bundle string
		want   error
		words  []string
	}{
		{"fork", f.forge(size, randomHash(), nil), inbox.ErrFork,
			[]string{fmt.Sprintf("size %d has root", size), res.Root}},
		{"rewrite", f.forge(size+3, randomHash(), map[int64]tlog.TreeProof{size: {randomHash(), randomHash()}}),
			inbox.ErrRewrite, []string{fmt.Sprintf("size %d", size+3), fmt.Sprintf("size %d (root %s)", size, res.Root)}},
		{"no proof", f.forge(size+3, randomHash(), nil), inbox.ErrNoProof, []string{fmt.Sprintf("size %d", size)}},
		{"rollback", f.forge(size-1, randomHash(), nil), inbox.ErrRewrite, []string{"older", fmt.Sprintf("size %d", size-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.in.Import(tt.bundle)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	if after := f.list(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused bundles changed the inbox:\n%v\n%v", before, after)
	}
	// The genuine history continues to import.
	if _, err := f.srv.Submit("second report", nil); err != nil {
		t.Fatal(err)
	}
	if res := f.importOK(f.pull("")); res.Size <= size {
		t.Errorf("second import: size %d, want > %d", res.Size, size)
	}
}

// TestMissingCaseIsReported: a case removed from the store without a logged deletion (an admin
// editing the file outside Candor) is reported by the next import and marked in the list; a case
// deleted with a logged deletion shows as deleted, with who and when.
func TestMissingCaseIsReported(t *testing.T) {
	f := newFixture(t)
	for _, m := range []string{"report one", "report two"} {
		if _, err := f.srv.Submit(m, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.importOK(f.pull(""))
	cs := f.list()
	if len(cs) != 2 {
		t.Fatalf("got %d cases, want 2", len(cs))
	}
	suppressed, deleted := caseID(t, cs[0].Case), caseID(t, cs[1].Case)
	if _, err := f.srv.Store.DeleteCase(suppressed, nil); err != nil { // no log entry: suppression
		t.Fatal(err)
	}
	e, _ := (&logentry.Entry{Type: logentry.CaseDeleted, Day: day.FromTime(time.Now()), Case: deleted,
		Actor: "server", Value: "retention"}).Marshal()
	if _, err := f.srv.Store.DeleteCase(deleted, [][]byte{e}); err != nil {
		t.Fatal(err)
	}
	res := f.importOK(f.pull(""))
	if len(res.Missing) != 1 || res.Missing[0] != suppressed.String() {
		t.Errorf("Missing: got %v, want [%s]", res.Missing, suppressed)
	}
	if len(res.Deleted) != 1 || res.Deleted[0] != deleted.String() {
		t.Errorf("Deleted: got %v, want [%s]", res.Deleted, deleted)
	}
	for _, c := range f.list() {
		switch c.Case {
		case suppressed.String():
			if c.Status != "missing" || !c.Missing {
				t.Errorf("suppressed case: status %q missing %v", c.Status, c.Missing)
			}
		case deleted.String():
			last := c.Events[len(c.Events)-1]
			if c.Status != "deleted" || last.Type != "case-deleted" || last.Actor != "server" {
				t.Errorf("deleted case: status %q, last event %+v", c.Status, last)
			}
		}
	}
}

func caseID(t testing.TB, s string) store.CaseID {
	var id store.CaseID
	if err := id.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestPassphraseErrorIsNotSecret: a wrong passphrase gives ErrPassphrase, whose text holds
// neither passphrase.
func TestPassphraseErrorIsNotSecret(t *testing.T) {
	f := newFixture(t)
	if _, err := f.srv.Submit("report", nil); err != nil {
		t.Fatal(err)
	}
	f.importOK(f.pull(""))
	const wrong = "incorrect horse battery staple"
	f.in.Close()
	in3, err := inbox.Open(inbox.Config{Home: filepath.Join(f.dir, "inbox"),
		Passphrase: func() ([]byte, error) { return []byte(wrong), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer in3.Close()
	var out bytes.Buffer
	err = in3.Read(f.list3(in3), &out)
	if !errors.Is(err, inbox.ErrPassphrase) {
		t.Fatalf("got %v, want ErrPassphrase", err)
	}
	for _, s := range []string{wrong, pass, "report"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret", err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("Read wrote %d bytes on failure", out.Len())
	}
}

func (f *fixture) list3(in *inbox.Inbox) string {
	cs, err := in.List()
	if err != nil || len(cs) == 0 {
		f.t.Fatalf("List: %v", err)
	}
	return cs[0].Case
}

// addCases stores n small cases for the fixture's reviewer directly through the store (a report
// over HTTP costs an Argon2id derivation each), each with one real age blob and its log entry.
func (f *fixture) addCases(n int) {
	f.t.Helper()
	card, err := f.in.Card()
	if err != nil {
		f.t.Fatal(err)
	}
	st := f.srv.Store
	for i := 0; i < n; i++ {
		w, err := st.NewBlob()
		if err != nil {
			f.t.Fatal(err)
		}
		var hdr bytes.Buffer
		sw, err := crypto.Seal(&hdr, w, []age.Recipient{card.Recipient()})
		if err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(sw, "small report %d", i)
		sw.Close()
		w.SetHeader(hdr.Bytes())
		blob, err := w.Close()
		if err != nil {
			f.t.Fatal(err)
		}
		var id store.CaseID
		rand.Read(id[:])
		today := day.FromTime(time.Now())
		e, _ := (&logentry.Entry{Type: logentry.CaseCreated, Day: today, Case: id, Actor: "reporter"}).Marshal()
		c := &store.Case{ID: id, Category: "general", Received: today, Status: "received",
			Reviewers: []string{f.fp}, ReporterRecipient: card.Recipient().String(),
			Messages: []store.Message{{Blob: blob, Kind: store.KindReport, Author: "reporter", Day: today}}}
		rand.Read(c.Lookup[:])
		if _, err := st.CreateCase(c, []store.BlobID{blob}, [][]byte{e}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// BenchmarkImport1000Cases imports a bundle holding 1,000 small cases into a fresh inbox.
func BenchmarkImport1000Cases(b *testing.B) {
	f := newFixture(b)
	f.addCases(1000)
	path := f.pull("")
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		home := filepath.Join(b.TempDir(), "inbox")
		src := filepath.Join(f.dir, "inbox")
		copyInbox(b, src, home)
		in, err := inbox.Open(inbox.Config{Home: home})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := in.Import(path)
		b.StopTimer()
		if err != nil || res.Cases != 1000 {
			b.Fatalf("Import: %v (%d cases)", err, res.Cases)
		}
		in.Close()
		b.StartTimer()
	}
}

// copyInbox copies the key files and card of an empty inbox (not its database).
func copyInbox(t testing.TB, src, dst string) {
	os.MkdirAll(dst, 0o700)
	for _, n := range []string{inbox.CardFile, inbox.IdentityFile, inbox.SigningFile} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, n), b, 0o600)
	}
}
