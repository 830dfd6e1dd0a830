package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"candor/installation"
	"candor/internal/testenv"
)

// browserEnv is a server with small limits and a Chromium (JavaScript off) with a page checker.
type browserEnv struct {
	*env
	t   *testing.T
	ctx context.Context
	pc  *pageChecker
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	axe, err := os.ReadFile(testenv.AxeScript(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := browserCtx(t)
	e := newEnv(t, envOptions{limits: Limits{MaxTotalBytes: 256 << 10, MaxFiles: 3, MaxMessageChars: 300},
		settings: &installation.Settings{Categories: []installation.Category{
			{ID: "general", Name: "General", Fields: []installation.Field{{ID: "where", Label: "Where did it happen", Kind: "text"}}}}}})
	dir := os.Getenv("CANDOR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return &browserEnv{env: e, t: t, ctx: ctx, pc: &pageChecker{t: t, ctx: ctx, dir: dir, axe: string(axe)}}
}

func (b *browserEnv) run(what string, a ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, a...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browserEnv) value(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Value(sel))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func (b *browserEnv) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func (b *browserEnv) file(name string, size int) string {
	p := filepath.Join(b.t.TempDir(), name)
	if err := os.WriteFile(p, bytes.Repeat([]byte("f"), size), 0o600); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// TestBrowserErrorsKeepText makes each refusal a reporter can cause from the form in Chromium
// with JavaScript off, and checks that the page that comes back holds what was typed, ticks the
// reviewers as they were, names the files to choose again, and stores nothing.
func TestBrowserErrorsKeepText(t *testing.T) {
	b := newBrowserEnv(t)
	const msg = "The purchasing director takes bribes.\nSince March, every Friday."
	tests := []struct {
		name    string
		message string
		files   []string
		untick  []string // reviewer checkboxes to untick
		problem string   // id of the field error shown
	}{
		{"no-reviewer", msg, []string{b.file("minutes.txt", 10)}, []string{"#reviewer-0", "#reviewer-1"}, "#reviewers-error"},
		{"too-many-files", msg, []string{b.file("a.txt", 1), b.file("b.txt", 1), b.file("c.txt", 1), b.file("d.txt", 1)}, []string{"#reviewer-1"}, "#files-error"},
		{"too-large", msg, []string{b.file("video.mp4", 300<<10)}, nil, "#files-error"},
		{"message-too-long", strings.Repeat("Too many words. ", 20), []string{b.file("minutes.txt", 10)}, nil, "#message-error"},
		{"empty", "", nil, nil, "#message-error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.t = t
			b.pc.t = t
			before := b.counts()
			b.run("form", chromedp.Navigate(b.url+"/report"), chromedp.WaitVisible("#message"))
			if tt.message != "" {
				b.run("fill", chromedp.SendKeys("#q-where", "Head office"), chromedp.SendKeys("#message", tt.message))
			}
			for _, sel := range tt.untick {
				b.run("untick", chromedp.Click(sel))
			}
			if tt.files != nil {
				b.run("files", chromedp.SetUploadFiles("#file-1", tt.files))
			}
			b.pc.check("error-" + tt.name + "-1-before")
			b.run("submit", chromedp.Click(`form.report button[type="submit"]`), chromedp.WaitVisible(".problem"))
			b.pc.check("error-" + tt.name + "-2-after")
			if got := b.value("#message"); got != tt.message {
				t.Errorf("message after the error: got %q, want %q", got, tt.message)
			}
			if tt.message != "" && b.value("#q-where") != "Head office" {
				t.Errorf("answer after the error: got %q", b.value("#q-where"))
			}
			b.run("problem shown", chromedp.WaitVisible(tt.problem))
			for i := range b.reviewers {
				sel := "#reviewer-" + string(rune('0'+i))
				checked, err := chromedp.Run(b.ctx, chromedp.JavascriptAttribute[bool](sel, "checked"))
				unticked := false
				for _, u := range tt.untick {
					unticked = unticked || u == sel
				}
				if err != nil || checked == unticked {
					t.Errorf("%s: checked %v (%v), want %v", sel, checked, err, !unticked)
				}
			}
			if tt.files != nil {
				var want []string
				for _, f := range tt.files {
					want = append(want, filepath.Base(f))
				}
				if got := b.text("#files-again ul"); got != strings.Join(want, "\n") {
					t.Errorf("files to choose again: got %q, want %q", got, want)
				}
			}
			if after := b.counts(); after != before {
				t.Errorf("store changed: before %+v, after %+v", before, after)
			}
		})
	}
}

// TestBrowserReceiptOnce: the receipt page after a report; its reload says the code was shown and
// does not show it; a double click on Send makes one case; there is exactly one case each time.
func TestBrowserReceiptOnce(t *testing.T) {
	b := newBrowserEnv(t)
	b.run("form", chromedp.Navigate(b.url+"/report"), chromedp.WaitVisible("#message"),
		chromedp.SendKeys("#message", "Once."))
	b.run("submit", chromedp.Click(`form.report button[type="submit"]`), chromedp.WaitVisible("#receipt-code"))
	code := b.text("#receipt-code")
	if len(strings.Fields(code)) != 8 {
		t.Fatalf("receipt code %q", code)
	}
	// Leaving the receipt page by its link and going Back does not show the code again either.
	b.run("continue", chromedp.Click(`p.continue a`), chromedp.WaitVisible("#receipt"))
	if page := b.back(receiptPagePath); strings.Contains(page, code) || !strings.Contains(page, "already shown") {
		t.Errorf("Back to the receipt page shows the code again, or not the 'already shown' page")
	}
	b.pc.check("receipt-back")
	b.run("reload", chromedp.Reload(), chromedp.WaitVisible("h1"))
	b.pc.check("receipt-reloaded")
	if page := b.text("main"); strings.Contains(page, code) || !strings.Contains(page, "already shown") {
		t.Errorf("reloaded receipt page: %q", page)
	}
	b.onlyCase()

	// A double click on Send: two clicks in a row on the button, with a file large enough that
	// the first POST is still uploading when the second click comes.
	b.env = newEnv(t, envOptions{limits: Limits{MaxFiles: 3}})
	big := b.file("scan.pdf", 96<<20) // large enough that the first POST is still uploading at the last click
	b.run("form", chromedp.Navigate(b.url+"/report"), chromedp.WaitVisible("#message"),
		chromedp.SendKeys("#message", "Twice?"), chromedp.SetUploadFiles("#file-1", []string{big}))
	b.run("scroll", chromedp.ScrollIntoView(`form.report button[type="submit"]`))
	box, err := chromedp.Run(b.ctx, chromedp.Dimensions(`form.report button[type="submit"]`))
	if err != nil {
		t.Fatal(err)
	}
	x, y := (box.Content[0]+box.Content[4])/2, (box.Content[1]+box.Content[5])/2
	var posts atomic.Int32
	chromedp.Listen(b.ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok && r.Request.Method == "POST" {
			posts.Add(1)
		}
	})
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	b.run("double click", chromedp.MouseClickXY(x, y), chromedp.MouseClickXY(x, y, chromedp.ClickCount(2)),
		chromedp.Sleep(700*time.Millisecond), chromedp.MouseClickXY(x, y))
	wctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible("#receipt-code")); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.body.innerText"))
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		t.Fatalf("after the clicks, no receipt code (%v) at %s: %.500s", err, loc, html)
	}
	b.pc.check("receipt-double-click")
	t.Logf("double click: the browser sent %d POSTs; %d waited for the first", posts.Load(), b.srv.tokens.waits())
	if posts.Load() < 2 {
		t.Errorf("the browser sent %d POST: the test did not submit twice", posts.Load())
	}
	b.onlyCase()
}

// TestBrowserBackAfterLogout logs in, sees a reply, logs out and goes Back: the case page must
// not come back from the browser's cache.
func TestBrowserBackAfterLogout(t *testing.T) {
	b := newBrowserEnv(t)
	code := b.submit(textPart("message", "x"))
	c := b.onlyCase()
	b.addReply(c, b.reviewers[0], "SECRET-REPLY: which year was this?", "q.pdf", []byte("%PDF"))
	b.run("login", chromedp.Navigate(b.url+"/followup"), chromedp.WaitVisible("#receipt"),
		chromedp.SendKeys("#receipt", code), chromedp.Click(`form.login button[type="submit"]`),
		chromedp.WaitVisible("#status-heading"))
	if !strings.Contains(b.text("main"), "SECRET-REPLY") {
		t.Fatal("the case page does not show the reply")
	}
	b.run("logout", chromedp.Click(`.session button`), chromedp.WaitNotPresent("#status-heading"), chromedp.WaitVisible("h1"))
	b.pc.check("logout-1-loggedout")
	for i, want := range []string{"/followup", "/followup"} {
		page := b.back(want)
		if strings.Contains(page, "SECRET-REPLY") || strings.Contains(page, `id="status-heading"`) {
			t.Errorf("Back (%d) after logout shows the case page", i+1)
		}
		if !strings.Contains(page, `id="receipt"`) {
			t.Errorf("Back (%d) after logout: want the login form", i+1)
		}
		b.pc.check(fmt.Sprintf("logout-%d-back", i+2))
	}
}

// back goes one step back in the tab's history (as the Back button does: a page restored from
// the back/forward cache fires no load event, so chromedp.NavigateBack would wait for ever) and
// returns the page's HTML once the location ends in want and the document is loaded.
func (b *browserEnv) back(want string) string {
	b.t.Helper()
	h, err := chromedp.Run(b.ctx, chromedp.NavigationEntries())
	if err != nil || h.CurrentIndex < 1 {
		b.t.Fatalf("history: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, page.NavigateToHistoryEntry,
		page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID}); err != nil {
		b.t.Fatalf("back: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.readyState"))
		if strings.HasSuffix(loc, want) && state == "complete" {
			html, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
			if err == nil {
				return html
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("back: never reached %s", want)
	return ""
}

// TestBrowserReceiptTypo types a code with one misspelt word: the page names that word only.
func TestBrowserReceiptTypo(t *testing.T) {
	b := newBrowserEnv(t)
	code := b.submit(textPart("message", "x"))
	w := strings.Fields(code)
	w[4] = w[4][:len(w[4])-1] + "Q"
	typed := strings.ToUpper(strings.Join(w[:4], "-")) + ", " + strings.Join(w[4:], ". ")
	b.run("login", chromedp.Navigate(b.url+"/followup"), chromedp.WaitVisible("#receipt"),
		chromedp.SendKeys("#receipt", typed), chromedp.Click(`form.login button[type="submit"]`),
		chromedp.WaitVisible("#receipt-error"))
	b.pc.check("receipt-typo")
	msg := b.text("#receipt-error")
	if !strings.Contains(msg, "“"+w[4]+"”") {
		t.Errorf("the message does not name %q: %q", w[4], msg)
	}
	for i, word := range strings.Fields(code) {
		if i != 4 && strings.Contains(strings.ToLower(msg), word) {
			t.Errorf("the message repeats the correct word %q", word)
		}
	}
	if got, err := chromedp.Run(b.ctx, chromedp.AttributeValue("#receipt", "aria-invalid")); err != nil || got.Value != "true" {
		t.Errorf("aria-invalid: %+v (%v)", got, err)
	}
}

// TestBrowserFollowupKeepsText: a refused follow-up message comes back on the case page with the
// text and the files to choose again; a form sent again with a used token gets the "already
// received" page. Both pages are checked with axe-core.
func TestBrowserFollowupKeepsText(t *testing.T) {
	b := newBrowserEnv(t)
	code := b.submit(textPart("message", "x"))
	b.run("login", chromedp.Navigate(b.url+"/followup"), chromedp.WaitVisible("#receipt"),
		chromedp.SendKeys("#receipt", code), chromedp.Click(`form.login button[type="submit"]`),
		chromedp.WaitVisible("#status-heading"))
	const msg = "It was in 2025, in the warehouse."
	files := []string{b.file("a.txt", 1), b.file("b.txt", 1), b.file("c.txt", 1), b.file("d.txt", 1)}
	before := b.counts()
	b.run("fill", chromedp.SendKeys("#message", msg), chromedp.SetUploadFiles("#file-1", files))
	b.pc.check("followup-1-before")
	b.run("send", chromedp.Click(`form.report button[type="submit"]`), chromedp.WaitVisible(".problem"))
	b.pc.check("followup-2-after")
	if got := b.value("#message"); got != msg {
		t.Errorf("message after the refusal: got %q, want %q", got, msg)
	}
	if again := b.text("#files-again ul"); again != "a.txt\nb.txt\nc.txt\nd.txt" {
		t.Errorf("files to choose again: got %q, want the four chosen", again)
	}
	if after := b.counts(); after != before {
		t.Errorf("store changed: before %+v, after %+v", before, after)
	}

	// A message sent after the session expired is shown on the login page, to copy.
	b.clock.t = b.clock.t.Add(31 * time.Minute)
	b.run("send after expiry", chromedp.Click(`form.report button[type="submit"]`), chromedp.WaitVisible("#unsent"))
	b.pc.check("followup-3-expired")
	if got := b.value("#unsent"); got != msg {
		t.Errorf("unsent message: got %q, want %q", got, msg)
	}

	// The report form with a token that already made a case.
	b.run("report", chromedp.Navigate(b.url+"/report"), chromedp.WaitVisible("#message"))
	tok, err := chromedp.Run(b.ctx, chromedp.AttributeValue(`input[name="form-token"]`, "value"))
	if err != nil || !tok.Exists {
		t.Fatalf("form token: %v", err)
	}
	b.run("send once", chromedp.SendKeys("#message", "Once."), chromedp.Click(`form.report button[type="submit"]`),
		chromedp.WaitVisible("#receipt-code"))
	b.clock.t = b.clock.t.Add(reshowWindow) // within a minute, the receipt would be shown again
	b.run("same token again", chromedp.Navigate(b.url+"/report"), chromedp.WaitVisible("#message"),
		chromedp.SetAttributeValue(`input[name="form-token"]`, "value", tok.Value),
		chromedp.SendKeys("#message", "Once."), chromedp.Click(`form.report button[type="submit"]`),
		chromedp.WaitNotPresent("#message"), chromedp.WaitVisible("h1"))
	b.pc.check("already-received")
	if page := b.text("main"); !strings.Contains(page, "This report was already received") {
		t.Errorf("same token again: %q", page)
	}
	if s, _ := b.st.Stats(); s.Cases != 2 {
		t.Errorf("got %d cases, want 2", s.Cases)
	}
}
