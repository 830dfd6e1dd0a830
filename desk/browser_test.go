package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"candor/internal/testenv"
	"candor/server/synctest"
)

// browserCtx starts headless Chromium with page scripts disabled and downloads going to dl.
func browserCtx(t *testing.T, dl string) context.Context {
	t.Helper()
	ctx := testenv.Browser(t, 2*time.Minute)
	if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatalf("download directory: %v", err)
	}
	return ctx
}

// checker saves screenshots of each page at 1280 and 400 CSS pixels, checks that neither width
// scrolls sideways, and runs axe-core on it.
type checker struct {
	t   *testing.T
	ctx context.Context
	dir string
	axe string
}

func (c *checker) check(name string) {
	t := c.t
	t.Helper()
	for _, width := range []int64{1280, 400} {
		if err := chromedp.Do(c.ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatalf("viewport: %v", err)
		}
		m, err := chromedp.Call(c.ctx, cdppage.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			t.Fatalf("%s: layout metrics: %v", name, err)
		}
		if w, vw := m.CSSContentSize.Width, float64(m.CSSLayoutViewport.ClientWidth); w > vw {
			t.Errorf("%s at %d px: scrolls sideways (content %v px wide)", name, width, w)
		}
		png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		file := filepath.Join(c.dir, name+"-"+map[int64]string{1280: "1280", 400: "400"}[width]+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chromedp.Do(c.ctx, chromedp.EmulateViewport(1280, 900))
	c.axeCheck(name)
}

// axeCheck runs axe-core with scripts enabled for the check only (the page has none of its own).
func (c *checker) axeCheck(name string) {
	t := c.t
	t.Helper()
	testenv.SetScripts(t, c.ctx, true)
	defer testenv.SetScripts(t, c.ctx, false)
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](c.axe+";true")); err != nil {
		t.Fatalf("%s: injecting axe: %v", name, err)
	}
	out, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
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
		t.Errorf("%s: axe %s violation %s (%s) on %d nodes", name, v.Impact, v.ID, v.Help, v.Nodes)
	}
}

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("CANDOR_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReviewerDay drives a reviewer's whole day through a real desk in Chromium with JavaScript
// off: unlock, import a bundle, read, download a file (byte-identical), reply with a file, close
// the case, write the outbox — which the server's sync API then accepts.
func TestReviewerDay(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	w := newWorld(t)
	msg, evidence := "The purchasing director takes bribes from Acme Ltd.", randomBytes(300<<10)
	w.report(msg, synctest.File{Name: "Beweis März.bin", Body: evidence})
	r := startDesk(t, w.home, false)
	reviewerDay(t, w, r.url, msg, evidence, "Beweis März.bin")
}

// reviewerDay is the day's work through the desk at url, whose inbox has not imported anything
// yet and whose reporter sent one report, msg, with one file (name, contents want).
func reviewerDay(t *testing.T, w *world, url, msg string, want []byte, name string) {
	axe, err := os.ReadFile(testenv.AxeScript(t))
	if err != nil {
		t.Fatal(err)
	}
	dl := t.TempDir()
	ctx := browserCtx(t, dl)
	c := &checker{t: t, ctx: ctx, dir: screenshotDir(t), axe: string(axe)}
	run := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	bundle := w.pull()

	run("open", chromedp.Navigate(url), chromedp.WaitVisible("#passphrase"))
	c.check("01-unlock")
	run("wrong passphrase", chromedp.SendKeys("#passphrase", "not it"), chromedp.Click(`form.login button`),
		chromedp.WaitVisible("#passphrase-error"))
	c.check("02-unlock-wrong")
	run("unlock", chromedp.SendKeys("#passphrase", pass), chromedp.Click(`form.login button`), chromedp.WaitVisible("#done-unlocked"))
	c.check("03-cases-empty")
	run("import page", chromedp.Click(`a[href$="/import"]`), chromedp.WaitVisible("#bundle"))
	c.check("04-import")
	run("import unconfirmed", chromedp.SetUploadFiles("#bundle", []string{bundle}), chromedp.Click("#import"),
		chromedp.WaitVisible("#server-key-shown"))
	if got := text("#server-key-shown"); got != w.srv.ServerKey() {
		t.Errorf("the first import shows server key %q, want %q", got, w.srv.ServerKey())
	}
	c.check("05a-import-confirm")
	run("import", chromedp.SetUploadFiles("#bundle", []string{bundle}), chromedp.SendKeys("#server_key", w.srv.ServerKey()),
		chromedp.Click("#import"), chromedp.WaitVisible("#import-result"))
	c.check("05-imported")
	run("cases", chromedp.Click(`nav.mainnav a[href$="/cases"]`), chromedp.WaitVisible("table.cases"))
	if got := text("#count"); !strings.Contains(got, "1 case") {
		t.Errorf("case count: got %q", got)
	}
	c.check("06-cases")
	run("case", chromedp.Click(`table.cases a`), chromedp.WaitVisible("#messages-heading"))
	if got := text("#m1 .reply-text"); got != msg {
		t.Errorf("the report reads %q", got)
	}
	c.check("07-case")

	run("download", chromedp.Click(`#m1 ul.downloads a`))
	if got := waitFile(t, filepath.Join(dl, name), len(want)); !bytes.Equal(got, want) {
		t.Errorf("the downloaded file differs from the reporter's (%d bytes, want %d)", len(got), len(want))
	}

	att := filepath.Join(t.TempDir(), "questions.txt")
	os.WriteFile(att, []byte("1. Since when?\n2. Who else knows?\n"), 0o600)
	run("reply", chromedp.SendKeys("#message", "Thank you. Please answer the attached questions."),
		chromedp.SetUploadFiles("#reply-files", []string{att}), chromedp.Click("#send-reply"), chromedp.WaitVisible("#done-replied"))
	c.check("08-replied")
	run("note", chromedp.SendKeys("#note", "Asked IT to keep the purchasing logs."), chromedp.Click("#add-note"),
		chromedp.WaitVisible("#done-note"))
	c.check("08b-noted")
	run("close", chromedp.SetValue("#new-status", "closed"), chromedp.SetValue("#new-outcome", "substantiated"),
		chromedp.Click("#set-status"), chromedp.WaitVisible("#done-status"))
	if got := text("#done-status"); !strings.Contains(got, "status change was signed") {
		t.Errorf("after closing: got notice %q", got)
	}
	run("outbox page", chromedp.Click(`nav.mainnav a[href$="/outbox"]`), chromedp.WaitVisible("#write-outbox"))
	if got := text("p.lead"); !strings.HasPrefix(got, "3 ") {
		t.Errorf("outbox page: got %q, want 3 envelopes waiting", got)
	}
	c.check("09-outbox")
	run("write outbox", chromedp.Click("#write-outbox"), chromedp.WaitVisible("#done-outbox"))
	c.check("10-outbox-written")
	file := text("ul.downloads a code")
	run("download outbox", chromedp.Click("ul.downloads a"))
	outbox := filepath.Join(dl, file)
	waitFile(t, outbox, -1)
	if n := w.push(outbox); n != 4 {
		t.Errorf("the server accepted %d envelopes, want 4 (reply, note, status, acknowledgement)", n)
	}

	// The next day: pull again and import; the case shows the signed status and reply.
	run("import again", chromedp.Click(`nav.mainnav a[href$="/import"]`), chromedp.WaitVisible("#bundle"),
		chromedp.SetUploadFiles("#bundle", []string{w.pull()}), chromedp.Click("#import"), chromedp.WaitVisible("#import-result"))
	run("case again", chromedp.Click(`nav.mainnav a[href$="/cases"]`), chromedp.WaitVisible("table.cases"),
		chromedp.Click(`table.cases a`), chromedp.WaitVisible("#m2"))
	if got := text("#case-status"); got != "Closed" {
		t.Errorf("status after the push and the next import: got %q, want Closed", got)
	}
	if got := text("#case-outcome"); got != "The report was found to be true" {
		t.Errorf("outcome after the push and the next import: got %q, want the substantiated outcome", got)
	}
	if got := text("#m2"); !strings.Contains(got, "attached questions") || !strings.Contains(got, "questions.txt") {
		t.Errorf("the reply reads %q", got)
	}
	if got := text("#messages-heading + article ~ article.internal-note"); !strings.Contains(got, "purchasing logs") ||
		!strings.Contains(got, "reviewers only") {
		t.Errorf("the note reads %q", got)
	}
	c.check("11-case-closed")
	run("stats", chromedp.Click(`nav.mainnav a[href$="/stats"]`), chromedp.WaitVisible("#stats-csv"))
	c.check("11b-stats")
	run("intake page", chromedp.Click(`nav.mainnav a[href$="/intake"]`), chromedp.WaitVisible("#record-intake"))
	c.check("11c-intake")
	run("delete confirm page", chromedp.Navigate(url+"cases"), chromedp.WaitVisible("table.cases"),
		chromedp.Click(`table.cases a`), chromedp.WaitVisible("#delete-link"), chromedp.Click("#delete-link"),
		chromedp.WaitVisible("#confirm-delete"))
	c.check("11d-delete-confirm")
	run("german", chromedp.Navigate(url+"cases?lang=de"), chromedp.WaitVisible("table.cases"))
	c.check("12-cases-de")
	run("german case", chromedp.Click(`table.cases a`), chromedp.WaitVisible("#messages-heading"))
	c.check("13-case-de")
	run("english", chromedp.Navigate(url+"cases?lang=en"), chromedp.WaitVisible("table.cases"))
	run("404", chromedp.Navigate(url+"nothing"), chromedp.WaitVisible("h1"))
	c.check("14-notfound")
	run("lock", chromedp.Navigate(url+"cases"), chromedp.WaitVisible("#lock"), chromedp.Click("#lock"), chromedp.WaitVisible("#done-locked"))
	c.check("15-locked")
	noSecret := url[:strings.Index(url, "/s/")] + "/cases"
	run("no secret", chromedp.Navigate(noSecret), chromedp.WaitVisible("h1"))
	c.check("16-refused")
	t.Logf("screenshots in %s", c.dir)
}

// waitFile waits for a finished download of size bytes (-1: any) and returns it.
func waitFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err == nil && (size < 0 && len(b) > 0 || len(b) == size) {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("download %s did not arrive; the directory holds %v", filepath.Base(path), names)
	return nil
}
