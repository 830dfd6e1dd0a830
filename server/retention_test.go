package server

import (
	"bytes"
	"context"
	"html"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"candor/admin"
	"candor/frontend"
	"candor/installation"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

func retentionSettings() *installation.Settings {
	return &installation.Settings{Categories: []installation.Category{
		{ID: installation.DefaultCategory, Name: "General"},
		{ID: "short", Name: "Short", RetentionDays: 30},
		{ID: "forever", Name: "Forever", KeepForever: true},
	}}
}

// retentionCase is a submitted case with its receipt code and the age headers of its blobs.
type retentionCase struct {
	code    string
	c       *store.Case
	headers [][]byte
}

// submitCase submits a report in category, returns it with its headers.

func (e *env) submitCase(category, text string) retentionCase {
	e.t.Helper()
	before := map[store.CaseID]bool{}
	e.st.Cases(func(c *store.Case) error { before[c.ID] = true; return nil })
	code := e.submit(textPart("category", category), textPart("message", text))
	var rc retentionCase
	e.st.Cases(func(c *store.Case) error {
		if !before[c.ID] {
			rc.c = c
		}
		return nil
	})
	if rc.c == nil {
		e.t.Fatal("submitted case not found")
	}
	rc.code = code
	for _, m := range rc.c.Messages {
		b, err := e.st.OpenBlob(m.Blob)
		if err != nil {
			e.t.Fatal(err)
		}
		rc.headers = append(rc.headers, b.Header)
	}
	return rc
}

// closeCase sets the case's Closed day (and holds) the way a reviewer's status envelope does.
func (e *env) closeCase(rc retentionCase, closed day.Day, holds ...string) {
	e.t.Helper()
	_, err := e.st.UpdateCase(rc.c.ID, func(c *store.Case) error {
		c.Status, c.Closed, c.Holds = "closed", closed, holds
		return nil
	}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
}

// headerNeedles returns slices of an age header that must not survive its deletion: several
// 48-byte windows (a partial page must not survive either) and the whole header.
func headerNeedles(h []byte) [][]byte {
	out := [][]byte{h}
	for off := 0; off+48 <= len(h); off += len(h) / 5 {
		out = append(out, h[off:off+48])
	}
	return out
}

// scanDir returns the files under dir holding any of the needles.
func scanDir(t *testing.T, dir string, needles [][]byte) (hits []string, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			if bytes.Contains(b, n) {
				hits = append(hits, p)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits, files
}

// TestRetentionJob runs the daily job on a controlled clock: due cases are deleted with a logged
// CaseDeleted entry, held, recent and keep-forever cases stay, the store is compacted so that no
// age header of a deleted blob is left in any file of the data directory (a backup taken after the
// deletion included), and the reporter is told on login.
func TestRetentionJob(t *testing.T) {
	var logBuf logBuffer
	e := newEnv(t, envOptions{settings: retentionSettings(), log: &logBuf})
	start := day.FromTime(e.clock.t)
	due := e.submitCase(installation.DefaultCategory, "due for deletion")
	dueShort := e.submitCase("short", "short retention")
	recent := e.submitCase(installation.DefaultCategory, "closed recently")
	held := e.submitCase(installation.DefaultCategory, "held by a reviewer")
	forever := e.submitCase("forever", "kept forever")
	open := e.submitCase(installation.DefaultCategory, "still open")
	e.closeCase(due, start)
	e.closeCase(dueShort, start.AddDays(300))
	e.closeCase(recent, start.AddDays(200))
	e.closeCase(held, start, e.reviewers[0].fp)
	e.closeCase(forever, start)

	// A year and a half later, by the server's clock.
	e.clock.t = e.clock.t.AddDate(1, 6, 0)
	today := day.FromTime(e.clock.t)
	sizeBefore, _ := e.st.LogSize()

	dry, err := admin.Retention(context.Background(), e.st, admin.RetentionOptions{Today: today, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := (admin.RetentionReport{Due: 3, Held: 1}); dry != want {
		t.Errorf("dry run: got %+v, want %+v", dry, want)
	}
	if n, _ := e.st.LogSize(); n != sizeBefore {
		t.Errorf("dry run appended %d log entries", n-sizeBefore)
	}

	if got := e.jobs().RetentionTick(context.Background(), day.Day(math.MinInt32)); got != today {
		t.Fatalf("retentionTick: got day %v, want %v", got, today)
	}
	if got := e.jobs().RetentionTick(context.Background(), today); got != today {
		t.Fatalf("second tick: got day %v, want %v", got, today)
	}
	sizeAfter, _ := e.st.LogSize()
	if sizeAfter != sizeBefore+2 {
		t.Fatalf("log grew by %d entries, want 2 (the second run of the day must do nothing)", sizeAfter-sizeBefore)
	}
	for _, rc := range []retentionCase{due, dueShort} {
		if _, err := e.st.Case(rc.c.ID); err == nil {
			t.Errorf("a due case survived")
		}
	}
	for _, rc := range []retentionCase{recent, held, forever, open} {
		if _, err := e.st.Case(rc.c.ID); err != nil {
			t.Errorf("a case that is not due was deleted: %v", err)
		}
	}
	_ = checkDeletionEntries(t, e, sizeBefore, sizeAfter, today, due.c.ID, dueShort.c.ID)

	// A backup taken after the deletion, next to the store.
	f, err := os.Create(filepath.Join(e.dir, "backup.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var gone, kept [][]byte
	for _, rc := range []retentionCase{due, dueShort} {
		for _, h := range rc.headers {
			gone = append(gone, headerNeedles(h)...)
		}
	}
	kept = append(kept, recent.headers...)
	if hits, files := scanDir(t, e.dir, gone); len(hits) > 0 || files < 2 {
		t.Errorf("deleted headers found in %v (%d files scanned)", hits, files)
	}
	if hits, _ := scanDir(t, e.dir, kept); len(hits) != 2 {
		t.Errorf("a live header is in %v, want the store and the backup (the scan must see them)", hits)
	}

	// The code of a case deleted with a log entry gets the page a code never issued gets.
	want := e.srv.fe.T("en", frontend.ErrorWrongReceipt.MessageKey())
	status, page := e.do(t, e.client(), "POST", "/followup", nil, login(due.code))
	if status != 403 || !strings.Contains(page, html.EscapeString(want)) {
		t.Errorf("login after deletion: got status %d, page lacks %q", status, want)
	}
	if !strings.Contains(logBuf.String(), "deleted=2") {
		t.Errorf("the server log lacks the deletion count:\n%s", logBuf.String())
	}
	for _, rc := range []retentionCase{due, dueShort} {
		if strings.Contains(logBuf.String(), rc.c.ID.String()) {
			t.Errorf("the server log names a deleted case")
		}
	}
}

// checkDeletionEntries checks that the log entries in [from, to) are CaseDeleted entries of the
// retention job for exactly the given cases, dated today, and returns their indices.
func checkDeletionEntries(t *testing.T, e *env, from, to int64, today day.Day, ids ...store.CaseID) map[store.CaseID]int64 {
	t.Helper()
	want := map[store.CaseID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	at := map[store.CaseID]int64{}
	for i := from; i < to; i++ {
		b, err := e.st.LogEntry(i)
		if err != nil {
			t.Fatal(err)
		}
		le, err := logentry.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		id := store.CaseID(le.Case)
		if le.Type != logentry.CaseDeleted || le.Actor != admin.RetentionActor || le.Value != admin.RetentionValue ||
			le.Day != today || !want[id] {
			t.Errorf("entry %d: got %v by %q value %q on %v", i, le.Type, le.Actor, le.Value, le.Day)
		}
		at[id] = i
	}
	if len(at) != len(ids) {
		t.Errorf("got %d deletion entries, want %d", len(at), len(ids))
	}
	return at
}

// TestRunRetentionStops checks that the job runs at once and returns when its context ends
// (cancelled before the start, so the test needs no clock and no waiting).
func TestRunRetentionStops(t *testing.T) {
	e := newEnv(t, envOptions{settings: retentionSettings()})
	rc := e.submitCase(installation.DefaultCategory, "x")
	e.closeCase(rc, day.FromTime(e.clock.t).AddDays(-400))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e.jobs().RunRetention(ctx) // returns: the context is done
	if _, err := e.st.Case(rc.c.ID); err == nil {
		t.Error("the job did not run at start")
	}
}
