package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"candor/installation"
	"candor/internal/testenv"
)

// browserCtx starts headless Chromium with page scripts disabled (Tor Browser at Safest).
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t, 3*time.Minute)
}

// pageChecker saves a screenshot of each page and runs axe-core on it.
type pageChecker struct {
	t   *testing.T
	ctx context.Context
	dir string
	axe string
}

func (p *pageChecker) check(name string) {
	t := p.t
	t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	// axe-core is a script: enable scripts for the check only (the page has none of its own).
	testenv.SetScripts(t, p.ctx, true)
	defer testenv.SetScripts(t, p.ctx, false)
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](p.axe+";true")); err != nil {
		t.Fatalf("%s: injecting axe: %v", name, err)
	}
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", name, err)
	}
	var vs []struct {
		ID, Impact, Help string
		Nodes            int
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe output: %v", name, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe %s violation %s (%s) on %d nodes", name, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			t.Logf("%s: axe %s: %s", name, v.Impact, v.ID)
		}
	}
}

// TestBrowserEndToEnd drives the whole reporter flow in real headless Chromium with JavaScript
// off: the form, two attached files, the receipt, the login and the case page.
func TestBrowserEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	axe, err := os.ReadFile(testenv.AxeScript(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := browserCtx(t)
	e := newEnv(t, envOptions{settings: &installation.Settings{Categories: []installation.Category{
		{ID: "general", Name: "General", Fields: []installation.Field{{ID: "where", Label: "Where did it happen", Kind: "text"}}},
		{ID: "finance", Name: "Money and procurement", Description: "Bribes, fraud, rigged tenders."},
	}}})
	dir := os.Getenv("CANDOR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pc := &pageChecker{t: t, ctx: ctx, dir: dir, axe: string(axe)}
	files := []string{filepath.Join(t.TempDir(), "minutes.txt"), filepath.Join(t.TempDir(), "photo.jpg")}
	os.WriteFile(files[0], []byte("minutes of the meeting"), 0o600)
	os.WriteFile(files[1], []byte("\xff\xd8\xff not really a jpeg"), 0o600)

	run := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("landing", chromedp.Navigate(e.url+"/"), chromedp.WaitVisible("h1"))
	pc.check("1-landing")
	run("form", chromedp.Navigate(e.url+"/report"), chromedp.WaitVisible("#message"))
	pc.check("2-report")
	run("fill", chromedp.SendKeys("#q-where", "Head office"),
		chromedp.SendKeys("#message", "The purchasing director takes bribes."),
		chromedp.Click("#reviewer-1"), // exclude the second reviewer
		chromedp.SetUploadFiles("#file-1", files))
	pc.check("3-report-filled")
	run("submit", chromedp.Click(`form.report button[type="submit"]`), chromedp.WaitVisible("#receipt-code"))
	code, err := chromedp.Run(ctx, chromedp.Text("#receipt-code"))
	if err != nil || len(strings.Fields(code)) != 8 {
		t.Fatalf("receipt code %q (%v)", code, err)
	}
	pc.check("4-receipt")
	c := e.onlyCase()
	// Reviewers are listed in fingerprint order; the second one was unticked.
	first := e.reviewers[0]
	if e.reviewers[1].fp < first.fp {
		first = e.reviewers[1]
	}
	if len(c.Reviewers) != 1 || c.Reviewers[0] != first.fp {
		t.Fatalf("got reviewers %v, want only %s", c.Reviewers, first.fp)
	}
	parts := e.decrypt(c.Messages[0].Blob, first.id)
	if len(parts) != 4 || parts[2].name != "minutes.txt" || parts[3].name != "photo.jpg" {
		t.Errorf("got %d parts, want message, answers and two files", len(parts))
	}

	run("login form", chromedp.Navigate(e.url+"/followup"), chromedp.WaitVisible("#receipt"))
	pc.check("5-followup")
	run("wrong code", chromedp.SendKeys("#receipt", "abacus abacus abacus abacus abacus abacus abacus abacus"),
		chromedp.Click(`form.login button[type="submit"]`), chromedp.WaitVisible("#receipt-error"))
	pc.check("6-followup-wrong")
	e.addReply(c, first, "Thank you. Which year was this?", "questions.pdf", []byte("%PDF-1.4"))
	run("login", chromedp.SendKeys("#receipt", strings.ToUpper(code)),
		chromedp.Click(`form.login button[type="submit"]`), chromedp.WaitVisible("#status-heading"))
	status, err := chromedp.Run(ctx, chromedp.Text(".dates dd strong"))
	if err != nil || status != "Received" {
		t.Errorf("got status %q (%v), want Received", status, err)
	}
	pc.check("7-case")
	run("follow-up", chromedp.SendKeys("#message", "It was 2025."), chromedp.SetUploadFiles("#file-1", files[:1]),
		chromedp.Click(`form.report button[type="submit"]`), chromedp.WaitVisible(".notice"))
	pc.check("8-case-sent")
	run("german", chromedp.Navigate(e.url+"/followup?lang=de"), chromedp.WaitVisible("#status-heading"))
	pc.check("9-case-de")
	run("logout", chromedp.Click(`.session button`), chromedp.WaitNotPresent("#status-heading"), chromedp.WaitVisible("h1"))
	pc.check("10-loggedout")
	run("404", chromedp.Navigate(e.url+"/nothing"), chromedp.WaitVisible("h1"))
	pc.check("11-notfound")
	if got := len(e.onlyCase().Messages); got != 3 {
		t.Errorf("got %d messages, want report, reply, follow-up", got)
	}
	t.Logf("screenshots in %s", dir)
}
