package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"candor/inbox"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/internal/testenv"
	"candor/server/synctest"
)

const teamPass = "correct horse battery staple"

// teamReviewer is one reviewer's offline inbox and sync token.
type teamReviewer struct {
	in    *inbox.Inbox
	fp    string
	token string
}

func newTeamReviewer(t *testing.T, srv *synctest.Server, dir, name string) *teamReviewer {
	t.Helper()
	cfg := inbox.Config{Home: filepath.Join(dir, name), WorkFactor: 10,
		Passphrase: func() ([]byte, error) { return []byte(teamPass), nil }}
	card, err := inbox.Init(cfg, name, []byte(teamPass))
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
	return &teamReviewer{in: in, fp: fp, token: token}
}

// sync pushes the teamReviewer's outbox (if anything is queued) and imports a fresh bundle.
func (r *teamReviewer) sync(t *testing.T, srv *synctest.Server) *inbox.ImportResult {
	t.Helper()
	if n, err := r.in.Pending(); err != nil {
		t.Fatal(err)
	} else if n > 0 {
		ob := filepath.Join(t.TempDir(), "outbox")
		if _, err := r.in.Outbox(ob); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(ob)
		defer f.Close()
		if _, err := srv.Push(r.token, f); err != nil {
			t.Fatalf("push: %v", err)
		}
	}
	var b bytes.Buffer
	if err := srv.Pull(r.token, "", &b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bundle")
	os.WriteFile(p, b.Bytes(), 0o600)
	res, err := r.in.Import(p)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

func (r *teamReviewer) read(t *testing.T, id string) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.in.Read(id, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTeamWork is issue 14's end-to-end test, with real inboxes, a real server and real headless
// Chromium with JavaScript off: three reviewers; Alice assigns herself, writes a note (Bob reads
// it, the reporter cannot), replies with feedback, shares the case with Carol after Bob was
// removed, and closes it with an outcome; Carol's inbox reads the whole case; stats counts it;
// the case file opens in Chromium; an oral intake is followed up by its reporter through the web
// page (agreeing with the record in the browser).
func TestTeamWork(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	testenv.Chromium(t) // skips, with the install hint, before any work
	axe, err := os.ReadFile(testenv.AxeScript(t))
	must(t, err)
	dir := t.TempDir()
	srv, err := synctest.Start(filepath.Join(dir, "srv"), nil)
	must(t, err)
	defer srv.Close()
	alice, bob := newTeamReviewer(t, srv, dir, "Alice"), newTeamReviewer(t, srv, dir, "Bob")
	carol := newTeamReviewer(t, srv, dir, "Carol")
	shots := teamShotDir(t)

	code, err := srv.Submit("REPORT-E2E: the custody suite logs are rewritten", []string{alice.fp, bob.fp})
	must(t, err)
	alice.sync(t, srv)
	cs, err := alice.in.List()
	must(t, err)
	id := cs[0].Case
	must(t, alice.in.Assign(id, "me"))
	must(t, alice.in.Note(id, "NOTE-E2E: the duty sergeant was on leave that week"))
	must(t, alice.in.Feedback(id, "REPLY-E2E: we confirmed the rewrite and opened an investigation.", nil))
	alice.sync(t, srv)

	bob.sync(t, srv)
	if got := bob.read(t, id); !strings.Contains(got, "NOTE-E2E") || !strings.Contains(got, "lead: Alice") {
		t.Errorf("Bob does not read Alice's note and lead:\n%s", got)
	}
	rep, err := srv.Login(code)
	must(t, err)
	page, err := rep.CasePage()
	must(t, err)
	if strings.Contains(page, "NOTE-E2E") || strings.Contains(page, "duty sergeant") {
		t.Fatal("the reporter's page shows the internal note")
	}
	if !strings.Contains(page, "REPLY-E2E") || !strings.Contains(page, "gave you their feedback on") {
		t.Errorf("the reporter's page lacks the feedback reply or its day")
	}

	removeReviewer(t, srv, bob.fp)
	must(t, alice.in.Share(id, carol.fp))
	must(t, alice.in.CloseCase(id, "referred"))
	alice.sync(t, srv)
	carol.sync(t, srv)
	whole := carol.read(t, id)
	for _, want := range []string{"REPORT-E2E", "NOTE-E2E", "REPLY-E2E", "case-shared", "outcome: referred", "lead: Alice"} {
		if !strings.Contains(whole, want) {
			t.Errorf("Carol's inbox lacks %q:\n%s", want, whole)
		}
	}
	st, err := carol.in.Stats(inbox.StatsOptions{})
	must(t, err)
	if st.Cases != 1 || st.Outcomes["referred"] != 1 || st.Feedback.Cases != 1 || st.Open != 0 {
		t.Errorf("stats: %+v", st)
	}

	ctx := testenv.Browser(t, 3*time.Minute)
	casefile := filepath.Join(dir, "case.html")
	var cf bytes.Buffer
	must(t, carol.in.Casefile(id, &cf))
	must(t, os.WriteFile(casefile, cf.Bytes(), 0o600))
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+casefile)); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.HasPrefix(title, "Case file "+id) {
		t.Fatalf("Chromium opened the case file with title %q (%v)", title, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("body"))
	if err != nil || !strings.Contains(text, "NOTE-E2E") || !strings.Contains(text, "Log proof") {
		t.Errorf("the case file in Chromium lacks the note or the log proof (%v)", err)
	}
	shot(t, ctx, shots, "casefile")

	intakeFollowedUp(t, ctx, srv, alice, carol, shots, string(axe))
	t.Logf("screenshots in %s", shots)
}

// intakeFollowedUp: Alice records an oral report; its reporter logs in with the receipt code in
// Chromium (JavaScript off), reads the record and agrees with it through the page's form; Carol,
// a teamReviewer of the new case, reads the agreement.
func intakeFollowedUp(t *testing.T, ctx context.Context, srv *synctest.Server, alice, carol *teamReviewer, shots, axe string) {
	res, err := alice.in.Intake(inbox.IntakeOptions{Text: "INTAKE-E2E: a phone call about the evidence store.",
		Reviewers: []string{carol.fp}})
	must(t, err)
	alice.sync(t, srv)
	run := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("login", chromedp.Navigate(srv.URL+"/followup"), chromedp.WaitVisible("#receipt"),
		chromedp.SendKeys("#receipt", res.Receipt.String()),
		chromedp.Click(`form.login button[type="submit"]`), chromedp.WaitVisible("#record-heading"))
	record, err := chromedp.Run(ctx, chromedp.Text("main"))
	if err != nil || !strings.Contains(record, "INTAKE-E2E") {
		t.Fatalf("the reporter's page lacks the record (%v)", err)
	}
	shot(t, ctx, shots, "intake-case")
	axeCheck(t, ctx, axe, "intake-case")
	run("agree", chromedp.Click(`#record-heading ~ form button[type="submit"]`), chromedp.WaitVisible(".notice"))
	shot(t, ctx, shots, "intake-agreed")
	carol.sync(t, srv)
	if got := carol.read(t, res.Case); !strings.Contains(got, "INTAKE-E2E") ||
		!strings.Contains(got, "I have read the record of my oral report and I agree with it.") {
		t.Errorf("Carol does not read the record and the agreement:\n%s", got)
	}
}

// removeReviewer unregisters fp as the admin does (with its log entry).
func removeReviewer(t *testing.T, srv *synctest.Server, fp string) {
	t.Helper()
	r, err := srv.Store.Reviewer(fp)
	must(t, err)
	e, err := (&logentry.Entry{Type: logentry.ReviewerRemoved, Day: day.FromTime(time.Now()), Actor: "admin",
		Subject: sha256.Sum256(r.Card)}).Marshal()
	must(t, err)
	_, err = srv.Store.DeleteReviewer(fp, [][]byte{e})
	must(t, err)
	if _, err := srv.Store.Reviewer(fp); err == nil {
		t.Fatal("the teamReviewer is still registered")
	}
}

func teamShotDir(t *testing.T) string {
	dir := os.Getenv("CANDOR_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "team-"+name+".png"), png, 0o644))
}

// axeCheck runs axe-core on the page (scripts enabled for the check only: the page has none) and
// fails on serious or critical violations.
func axeCheck(t *testing.T, ctx context.Context, axe, name string) {
	t.Helper()
	testenv.SetScripts(t, ctx, true)
	defer testenv.SetScripts(t, ctx, false)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+";true")); err != nil {
		t.Fatalf("%s: injecting axe: %v", name, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))))`,
		chromedp.EvalAwaitPromise))
	must(t, err)
	var vs []struct {
		ID, Impact string
		Nodes      int
	}
	must(t, json.Unmarshal([]byte(out), &vs))
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe %s violation %s on %d nodes", name, v.Impact, v.ID, v.Nodes)
		}
	}
}
