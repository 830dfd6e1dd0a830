package inbox_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/tlog"

	"candor/crypto"
	"candor/inbox"
	"candor/installation"
	"candor/internal/bundle"
	"candor/internal/checkpoint"
	"candor/internal/day"
	"candor/internal/leaf"
	"candor/internal/logentry"
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
	if err := in.TrustServer(srv.ServerKey()); err != nil {
		t.Fatal(err)
	}
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
	b, err := f.srv.Store.Meta(installation.MetaSigningKey)
	if err != nil {
		f.t.Fatal(err)
	}
	sk, err := crypto.ParseSigningKey(b)
	if err != nil {
		f.t.Fatal(err)
	}
	return sk
}

// forge writes a bundle signed with the real server key (and its checkpoint with the log's keys)
// whose checkpoint has the given size and root, and whose leaf list starts at start with the
// genuine frontier and random leaves up to size: what a server that rewrote its log would send.
func (f *fixture) forge(size int64, root tlog.Hash, start int64) string {
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
	signer, err := installation.LogSigner(sk, origin)
	must(err)
	note, err := signer.Sign(&checkpoint.Checkpoint{Origin: origin, Size: size, Hash: root})
	must(err)
	must(w.Checkpoint(note))
	_, frontier, err := f.srv.Store.LogLeaves(start, start)
	must(err)
	l := leaf.List{Start: start, Frontier: frontier}
	for range size - start {
		lf, err := leaf.New(rand.Reader, []byte("forged"), leaf.Addressed, nil, leaf.DefaultTagCount)
		must(err)
		lf.Rest = nil
		l.Leaves = append(l.Leaves, *lf)
	}
	must(w.LeafList(&bundle.LeafList{List: l}))
	must(w.CaseIndex(&bundle.CaseIndex{}))
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
// but another root (a fork), one whose leaves do not make its root (a rewrite), one whose leaves
// start at a tree the inbox never verified, and one with a smaller checkpoint (a rollback) are all
// refused with specific errors, and nothing of them is stored.
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
		{"fork", f.forge(size, randomHash(), size), inbox.ErrFork,
			[]string{fmt.Sprintf("size %d has root", size), res.Root}},
		{"rewrite", f.forge(size+3, randomHash(), size), inbox.ErrRewrite, []string{fmt.Sprintf("size %d", size+3)}},
		{"no proof", f.forge(size+3, randomHash(), 1), inbox.ErrNoProof, []string{"size 1"}},
		{"rollback", f.forge(size-1, randomHash(), 0), inbox.ErrRollback, []string{fmt.Sprintf("size %d", size-1),
			fmt.Sprintf("verified size %d", size)}},
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
		// The entry commits to the recipients, as cases.CreateCase does (DESIGN §7.1).
		salt, err := leaf.NewSalt(rand.Reader)
		if err != nil {
			f.t.Fatal(err)
		}
		set := leaf.RecipientSet{Reporter: card.Recipient().String(), Reviewers: []string{f.fp}}
		commitment, err := set.Commit(&salt)
		if err != nil {
			f.t.Fatal(err)
		}
		e, _ := (&logentry.Entry{Type: logentry.CaseCreated, Day: today, Case: id, Actor: "reporter",
			Subject: commitment}).Marshal()
		c := &store.Case{ID: id, Category: "general", Received: today, Status: "received", Salt: salt,
			Reviewers: set.Reviewers, ReporterRecipient: set.Reporter,
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
		in, err := inbox.Open(inbox.Config{Home: home, Passphrase: func() ([]byte, error) { return []byte(pass), nil }})
		if err != nil {
			b.Fatal(err)
		}
		if err := in.TrustServer(f.srv.ServerKey()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := in.Import(path)
		b.StopTimer()
		if err != nil {
			b.Fatalf("Import: %v", err)
		}
		if res.Cases != 1000 {
			b.Fatalf("Import: %d cases, want 1000", res.Cases)
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

// TestAckMovesCursor: after an outbox (with its Ack) is pushed, the next pull holds only what is
// new, and its consistency proof starts from the acknowledged checkpoint; --since 0 re-sends all.
func TestAckMovesCursor(t *testing.T) {
	f := newFixture(t)
	if _, err := f.srv.Submit("first", nil); err != nil {
		t.Fatal(err)
	}
	f.importOK(f.pull(""))
	outbox := filepath.Join(t.TempDir(), "outbox")
	if n, err := f.in.Outbox(outbox); err != nil || n != 1 {
		t.Fatalf("Outbox: %d, %v; want 1 (the ack)", n, err)
	}
	ob, _ := os.Open(outbox)
	defer ob.Close()
	if n, err := f.srv.Push(f.token, ob); err != nil || n != 1 {
		t.Fatalf("Push: %d, %v", n, err)
	}
	if res := f.importOK(f.pull("")); res.Cases != 0 || res.Blobs != 0 {
		t.Errorf("after the ack: got %d cases, %d blobs; want 0, 0", res.Cases, res.Blobs)
	}
	if _, err := f.srv.Submit("second", nil); err != nil {
		t.Fatal(err)
	}
	if res := f.importOK(f.pull("")); res.Cases != 1 || res.NewBlobs != 1 {
		t.Errorf("new report: got %d cases, %d new blobs; want 1, 1", res.Cases, res.NewBlobs)
	}
	if res := f.importOK(f.pull("0")); res.Cases != 2 || res.NewBlobs != 0 {
		t.Errorf("since 0: got %d cases, %d new blobs; want 2, 0", res.Cases, res.NewBlobs)
	}
	if cs := f.list(); len(cs) != 2 {
		t.Errorf("got %d cases, want 2", len(cs))
	}
}

// TestListOverdueFirst moves the inbox's clock: a case still "received" a month after arrival is
// overdue (acknowledgement due after 7 days) and listed first; a closed case never is; an
// in-review case becomes overdue once its feedback date (3 months after acknowledgement) passes.
func TestListOverdueFirst(t *testing.T) {
	f := newFixture(t)
	for _, m := range []string{"one", "two", "three"} {
		if _, err := f.srv.Submit(m, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.importOK(f.pull(""))
	cs := f.list()
	received, closed, review := cs[0].Case, cs[1].Case, cs[2].Case
	if err := f.in.SetStatus(review, "in-review"); err != nil {
		t.Fatal(err)
	}
	if err := f.in.CloseCase(closed, "no-action"); err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(t.TempDir(), "outbox")
	if _, err := f.in.Outbox(outbox); err != nil {
		t.Fatal(err)
	}
	ob, _ := os.Open(outbox)
	if _, err := f.srv.Push(f.token, ob); err != nil {
		t.Fatal(err)
	}
	ob.Close()
	f.importOK(f.pull("0"))
	f.in.Close()
	tests := []struct {
		days    int
		overdue []string
	}{
		{0, nil},
		{30, []string{received}},
		{200, []string{received, review}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.days), func(t *testing.T) {
			now := time.Now().AddDate(0, 0, tt.days)
			in, err := inbox.Open(inbox.Config{Home: filepath.Join(f.dir, "inbox"), Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			got, err := in.List()
			if err != nil || len(got) != 3 {
				t.Fatalf("List: %d cases, %v", len(got), err)
			}
			var overdue []string
			for i, c := range got {
				if c.Overdue {
					if i != len(overdue) {
						t.Errorf("overdue case %s listed at %d after a case that is not overdue", c.Case, i)
					}
					overdue = append(overdue, c.Case)
				}
				if c.Case == closed && c.Status != "closed" {
					t.Errorf("closed case: status %q", c.Status)
				}
			}
			if fmt.Sprint(sorted(overdue)) != fmt.Sprint(sorted(tt.overdue)) {
				t.Errorf("overdue: got %v, want %v", overdue, tt.overdue)
			}
		})
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	slices.Sort(s)
	return s
}

// TestHomeHoldsNoSecret: after import, read, reply and outbox, no file under the inbox's home
// holds the report's text, the reply's text, the passphrase or an unencrypted key.
func TestHomeHoldsNoSecret(t *testing.T) {
	f := newFixture(t)
	const report, reply = "SECRET-REPORT-TEXT", "SECRET-REPLY-TEXT"
	if _, err := f.srv.Submit(report, nil); err != nil {
		t.Fatal(err)
	}
	f.importOK(f.pull(""))
	id := f.list()[0].Case
	var out bytes.Buffer
	if err := f.in.Read(id, &out); err != nil || !strings.Contains(out.String(), report) {
		t.Fatalf("Read: %v", err)
	}
	if err := f.in.Reply(id, reply, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.in.Outbox(filepath.Join(t.TempDir(), "outbox")); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(filepath.Join(f.dir, "inbox"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{report, reply, pass, "AGE-SECRET-KEY"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
}
