package inbox_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"candor/inbox"
	"candor/installation"
	"candor/internal/day"
	"candor/server/synctest"
)

// clock is a settable clock shared by the server and the inbox.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestFeedbackStopsTheClock is the regression test of issue 14's deadline bug, with the clock
// moved instead of waited for: a case acknowledged but without feedback is overdue after its
// feedback date (inbox list, server count, reporter page); once a reply marked as feedback is
// applied it is not — although it is still open — and the reporter's page says "Feedback given
// on" and no longer that a deadline passed without an answer.
func TestFeedbackStopsTheClock(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	srv, err := synctest.Start(filepath.Join(dir, "srv"), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := inbox.Config{Home: filepath.Join(dir, "alice"), WorkFactor: 10, Now: clk.now,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }}
	card, err := inbox.Init(cfg, "Alice", []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := srv.AddReviewer(card.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	in, err := inbox.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.TrustServer(srv.ServerKey()); err != nil {
		t.Fatal(err)
	}
	code, err := srv.Submit("a report", nil)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip := func() {
		t.Helper()
		ob := filepath.Join(t.TempDir(), "outbox")
		if _, err := in.Outbox(ob); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(ob)
		defer f.Close()
		if _, err := srv.Push(token, f); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := srv.Pull(token, "0", &b); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "bundle")
		os.WriteFile(p, b.Bytes(), 0o600)
		if _, err := in.Import(p); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip()
	cs, _ := in.List()
	id := cs[0].Case
	if err := in.SetStatus(id, "acknowledged"); err != nil {
		t.Fatal(err)
	}
	roundTrip()

	clk.add(100 * 24 * time.Hour) // past the feedback date (three months after acknowledgement)
	check(t, in, srv, code, clk, true)
	if err := in.Feedback(id, "We looked into it: the rota was altered.", nil); err != nil {
		t.Fatal(err)
	}
	roundTrip()
	check(t, in, srv, code, clk, false)
	clk.add(300 * 24 * time.Hour) // long after: still not overdue, still open
	check(t, in, srv, code, clk, false)
}

func check(t *testing.T, in *inbox.Inbox, srv *synctest.Server, code string, clk *clock, overdue bool) {
	t.Helper()
	cs, err := in.List()
	if err != nil || len(cs) != 1 {
		t.Fatalf("list: %v, %v", cs, err)
	}
	if cs[0].Overdue != overdue || cs[0].Status == "closed" {
		t.Errorf("inbox on %s: overdue %v (status %s), want %v", day.FromTime(clk.now()), cs[0].Overdue, cs[0].Status, overdue)
	}
	n, err := installation.Overdue(srv.Store, day.FromTime(clk.now()))
	if err != nil || (n == 1) != overdue {
		t.Errorf("server on %s: %d overdue (%v), want overdue %v", day.FromTime(clk.now()), n, err, overdue)
	}
	r, err := srv.Login(code)
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.CasePage()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Contains(page, "A deadline has passed without an answer"); got != overdue {
		t.Errorf("reporter page says a deadline passed: %v, want %v", got, overdue)
	}
	if got := strings.Contains(page, "gave you their feedback on"); got == overdue {
		t.Errorf("reporter page says feedback was given: %v, want %v", got, !overdue)
	}
}

// TestDeletionPurgesCiphertext: after an early deletion reaches the inbox, no part of the case's
// ciphertext is left in the inbox's files (inbox.db is compacted: bbolt keeps freed pages as they
// were).
func TestDeletionPurgesCiphertext(t *testing.T) {
	f := newFixture(t)
	if _, err := f.srv.Submit(strings.Repeat("a report long enough to fill pages ", 200), nil); err != nil {
		t.Fatal(err)
	}
	f.importOK(f.pull(""))
	id := f.list()[0].Case
	rawDir := filepath.Join(t.TempDir(), "raw")
	names, err := f.in.Export(id, rawDir, inbox.ExportOptions{Raw: true})
	if err != nil || len(names) != 1 {
		t.Fatalf("export: %v %v", names, err)
	}
	raw, err := os.ReadFile(filepath.Join(rawDir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	sample := raw[len(raw)-200 : len(raw)-136] // 64 bytes of the payload
	home := filepath.Join(f.dir, "inbox")
	if !holds(t, home, sample) {
		t.Fatal("the sample is not in the inbox before the deletion: the test would prove nothing")
	}
	if err := f.in.Delete(id, "spam"); err != nil {
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
	if res := f.importOK(f.pull("")); len(res.Deleted) != 1 {
		t.Fatalf("import: deleted %v", res.Deleted)
	}
	if holds(t, home, sample) {
		t.Error("ciphertext of the deleted case survives in the inbox's files")
	}
	if holds(t, f.srv.Dir, sample) {
		t.Error("ciphertext of the deleted case survives in the server's files")
	}
}

// holds reports whether any file under dir contains b.
func holds(t *testing.T, dir string, b []byte) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, b) {
			found = true
		}
		return nil
	})
	return found
}
