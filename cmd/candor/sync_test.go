package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"candor/crypto"
	"candor/inbox"
	"candor/internal/bundle"
	"candor/internal/envelope"
	"candor/server/store"
	"candor/server/synctest"
)

type testReviewer struct {
	name, fp, token string
	in              *inbox.Inbox
	home            string
}

const testPass = "correct horse battery staple"

func newReviewer(t *testing.T, srv *synctest.Server, name string) *testReviewer {
	t.Helper()
	home := filepath.Join(t.TempDir(), name)
	cfg := inbox.Config{Home: home, WorkFactor: 10, Passphrase: func() ([]byte, error) { return []byte(testPass), nil }}
	card, err := inbox.Init(cfg, name, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
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
	return &testReviewer{name: name, fp: fp, token: token, in: in, home: home}
}

// pull runs `candor sync pull` and imports the bundle; it returns the bundle's path.
func (r *testReviewer) pull(t *testing.T, srv *synctest.Server, since string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle")
	args := []string{"sync", "pull", "--server", srv.URL, "--token", r.token, "-o", out}
	if since != "" {
		args = append(args, "--since", since)
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("%s: sync pull: exit %d: %s", r.name, code, stderr.String())
	}
	if _, err := r.in.Import(out); err != nil {
		t.Fatalf("%s: import: %v", r.name, err)
	}
	return out
}

func push(t *testing.T, srv *synctest.Server, token, outbox string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run([]string{"sync", "push", "--server", srv.URL, "--token", token, outbox}, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

func onlyCase(t *testing.T, in *inbox.Inbox) inbox.CaseInfo {
	t.Helper()
	cs, err := in.List()
	if err != nil || len(cs) != 1 {
		t.Fatalf("List: got %d cases, %v; want 1", len(cs), err)
	}
	return cs[0]
}

type storeCounts struct {
	Blobs    int
	LogSize  int64
	FeedHead uint64
}

func counts(t *testing.T, st *store.Store) storeCounts {
	s, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return storeCounts{s.Blobs, s.LogSize, s.FeedHead}
}

// TestSyncEndToEnd: three reviewers; a report excluding C; A and B pull, import, read and export
// it; C's bundle holds nothing of it and C cannot decrypt it; A replies; the reporter reads the
// reply; B's next bundle holds it.
func TestSyncEndToEnd(t *testing.T) {
	srv, err := synctest.Start(filepath.Join(t.TempDir(), "server"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, b, c := newReviewer(t, srv, "Alice"), newReviewer(t, srv, "Bob"), newReviewer(t, srv, "Carol")
	attachment := make([]byte, 300<<10)
	rand.Read(attachment)
	const secret = "the procurement head takes kickbacks"
	code, err := srv.Submit(secret, []string{a.fp, b.fp}, synctest.File{Name: "evidence.pdf", Body: attachment})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*testReviewer{a, b} {
		r.pull(t, srv, "")
		cs := onlyCase(t, r.in)
		var text bytes.Buffer
		if err := r.in.Read(cs.Case, &text); err != nil || !strings.Contains(text.String(), secret) {
			t.Fatalf("%s: Read: %v\n%s", r.name, err, text.String())
		}
		dir := filepath.Join(t.TempDir(), "export")
		if _, err := r.in.Export(cs.Case[:8], dir, inbox.ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "evidence.pdf"))
		if err != nil || !bytes.Equal(got, attachment) {
			t.Fatalf("%s: exported attachment differs (%v)", r.name, err)
		}
	}
	caseID := onlyCase(t, a.in).Case
	checkExcluded(t, c, c.pull(t, srv, "0"), caseID, a)

	if err := a.in.Reply(caseID, "Thank you. We are on it.", nil); err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(t.TempDir(), "outbox")
	if _, err := a.in.Outbox(outbox); err != nil {
		t.Fatal(err)
	}
	if code, out := push(t, srv, a.token, outbox); code != 0 {
		t.Fatalf("push: exit %d: %s", code, out)
	}
	if page := reporterPage(t, srv, code); !strings.Contains(page, "We are on it.") {
		t.Fatalf("the reporter's page lacks the reply:\n%s", page)
	}
	b.pull(t, srv, "")
	var text bytes.Buffer
	if err := b.in.Read(caseID, &text); err != nil || !strings.Contains(text.String(), "We are on it.") {
		t.Fatalf("B cannot read A's reply: %v\n%s", err, text.String())
	}
	testRefusals(t, srv, a, c, caseID, outbox)
}

// checkExcluded checks that C's bundle holds nothing of the case and that C cannot decrypt it.
func checkExcluded(t *testing.T, c *testReviewer, bundlePath, caseID string, a *testReviewer) {
	t.Helper()
	f, err := os.Open(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bundle.NewReader(f)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec := rec.(type) {
		case *bundle.Case:
			t.Errorf("C's bundle holds a case record")
		case *bundle.Blob:
			t.Errorf("C's bundle holds a blob")
		case *bundle.LeafList:
			for _, lf := range rec.Leaves {
				if bytes.Contains(lf.Rest, hexDecode(t, caseID)) {
					t.Errorf("C's bundle holds a log entry of the case")
				}
			}
		case *bundle.CaseIndex:
			if len(rec.Cases) != 0 {
				t.Errorf("C's case index lists %d cases, want 0", len(rec.Cases))
			}
		}
	}
	if cs, _ := c.in.List(); len(cs) != 0 {
		t.Errorf("C's inbox lists %d cases, want 0", len(cs))
	}
	id, err := c.in.Identity()
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(t.TempDir(), "raw")
	if _, err := a.in.Export(caseID, raw, inbox.ExportOptions{Raw: true}); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(raw, "*.age"))
	if len(blobs) == 0 {
		t.Fatal("A has no blobs")
	}
	for _, p := range blobs {
		data, _ := os.ReadFile(p)
		if _, err := age.Decrypt(bytes.NewReader(data), id); err == nil {
			t.Errorf("C decrypted %s", filepath.Base(p))
		}
	}
}

func hexDecode(t *testing.T, s string) []byte {
	var id store.CaseID
	if err := id.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return id[:]
}

// reporterPage logs in with the receipt and returns the case page.
func reporterPage(t *testing.T, srv *synctest.Server, code string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp, err := cl.PostForm(srv.URL+"/followup", url.Values{"receipt": {code}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return string(page)
}

// testRefusals: a replayed outbox, a forged signature (either half), an unknown token and an
// envelope for a case the reviewer is not on are refused, and nothing is stored.
func testRefusals(t *testing.T, srv *synctest.Server, a, c *testReviewer, caseID, oldOutbox string) {
	before := counts(t, srv.Store)
	seqBefore := reviewerSeq(t, srv, a.fp)
	if code, out := push(t, srv, a.token, oldOutbox); code != 0 || !strings.Contains(out, "already pushed: the server accepted every envelope of this outbox before; nothing to do") {
		t.Errorf("outbox pushed a second time: exit %d, %s", code, out)
	}
	if err := a.in.SetStatus(caseID, "in-review"); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := a.in.Outbox(fresh); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(fresh)
	envs, err := envelope.ReadOutbox(bytes.NewReader(data), 10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{10, 64 + 100} { // the Ed25519 half, then the ML-DSA-65 half
		forged := filepath.Join(t.TempDir(), "forged")
		for _, e := range envs {
			e2 := *e
			e2.Sig = bytes.Clone(e.Sig)
			e2.Sig[off] ^= 1
			writeOutbox(t, forged, &e2)
			if code, out := push(t, srv, a.token, forged); code == 0 || !strings.Contains(out, "signature") {
				t.Errorf("forged byte %d: exit %d, %s", off, code, out)
			}
		}
	}
	if code, out := push(t, srv, "not-a-token", fresh); code == 0 || !strings.Contains(out, "401") || !strings.Contains(out, "hint: the server does not know this token") {
		t.Errorf("unknown token: exit %d, %s", code, out)
	}
	notOn := &envelope.Envelope{Kind: envelope.KindStatus, Reviewer: c.fp, Seq: 1, Status: "closed", Outcome: "referred"}
	copy(notOn.Case[:], hexDecode(t, caseID))
	if err := envelope.Sign(notOn, signingKey(t, c)); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	writeOutbox(t, bad, notOn)
	if code, out := push(t, srv, c.token, bad); code == 0 || !strings.Contains(out, "not on") {
		t.Errorf("case the reviewer is not on: exit %d, %s", code, out)
	}
	if after := counts(t, srv.Store); after != before || reviewerSeq(t, srv, a.fp) != seqBefore {
		t.Errorf("refused pushes changed the store: %+v → %+v", before, after)
	}
	// The genuine outbox was not consumed by the forgeries.
	if code, out := push(t, srv, a.token, fresh); code != 0 {
		t.Errorf("genuine outbox after forgeries: exit %d, %s", code, out)
	}
	// The older outbox again, after a newer one: not "already pushed" but a replay, with a hint.
	if code, out := push(t, srv, a.token, oldOutbox); code == 0 || !strings.Contains(out, "replayed") ||
		!strings.Contains(out, "hint: this outbox is older than one pushed since") {
		t.Errorf("older outbox after a newer one: exit %d, %s", code, out)
	}
	if code, out := push(t, srv, a.token, fresh); code != 0 || !strings.Contains(out, "already pushed") {
		t.Errorf("the last outbox again: exit %d, %s", code, out)
	}
	cs, _ := srv.Store.Case(store.CaseID(hexDecode(t, caseID)))
	if cs.Status != "in-review" {
		t.Errorf("status: got %q, want in-review", cs.Status)
	}
}

func reviewerSeq(t *testing.T, srv *synctest.Server, fp string) uint64 {
	r, err := srv.Store.Reviewer(fp)
	if err != nil {
		t.Fatal(err)
	}
	return r.Seq
}

func writeOutbox(t *testing.T, path string, envs ...*envelope.Envelope) {
	var buf bytes.Buffer
	if err := envelope.WriteOutbox(&buf, envs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// signingKey decrypts a reviewer's signing key file, as only its owner can.
func signingKey(t *testing.T, r *testReviewer) *crypto.SigningKey {
	enc, err := os.ReadFile(filepath.Join(r.home, inbox.SigningFile))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := age.NewScryptIdentity(testPass)
	pt, err := age.Decrypt(bytes.NewReader(enc), id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(pt)
	sk, err := crypto.ParseSigningKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}
