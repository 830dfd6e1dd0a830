package server

import (
	"html"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"candor/installation"
	"candor/internal/testenv"
)

// TestInfoPages: the organisation's information pages are served at /info/KIND in the reporter's
// language (English when that one was not written, marked with its language), linked from the
// landing, receipt and case pages; a kind not written is 404.
func TestInfoPages(t *testing.T) {
	set := installation.DefaultSettings()
	set.InfoPages = []installation.InfoPage{
		{Kind: "external", Lang: "en", Title: "Reporting outside the force",
			Body: "You may report to the IOPC: www.policeconduct.gov.uk\n\nOr to a prescribed person <b>."},
		{Kind: "external", Lang: "de", Title: "Externe Meldestellen", Body: "Die externe Meldestelle des Bundes."},
		{Kind: "privacy", Lang: "en", Title: "Privacy notice", Body: "We keep ciphertext only."},
	}
	e := newEnv(t, envOptions{settings: &set})
	c := e.client()

	resp, page := e.get(c, "/info/external")
	if resp.StatusCode != 200 || !strings.Contains(page, "<h1>Reporting outside the force</h1>") ||
		!strings.Contains(page, "www.policeconduct.gov.uk") || !strings.Contains(page, "a prescribed person &lt;b&gt;.") {
		t.Fatalf("GET /info/external: %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, `href="http`) || strings.Contains(page, `href="www`) {
		t.Errorf("an information page links elsewhere")
	}
	if _, de := e.get(c, "/info/external?lang=de"); !strings.Contains(de, "Externe Meldestellen") {
		t.Errorf("German external page not served in German")
	}
	_, de := e.get(c, "/info/privacy?lang=de")
	if !strings.Contains(de, `<h1><span lang="en">Privacy notice</span></h1>`) || !strings.Contains(de, "nicht in Ihrer Sprache") {
		t.Errorf("a page not written in German: want the English one marked lang=en with a note")
	}
	if resp, _ := e.get(c, "/info/procedure"); resp.StatusCode != 404 {
		t.Errorf("GET /info/procedure (not written): %d, want 404", resp.StatusCode)
	}

	_, landing := e.get(e.client(), "/")
	for _, want := range []string{`href="/info/privacy"`, `href="/info/external"`} {
		if !strings.Contains(landing, want) {
			t.Errorf("landing page lacks %s", want)
		}
	}
	if strings.Contains(landing, `href="/info/procedure"`) {
		t.Errorf("landing page links a page that was not written")
	}
	for _, r := range e.reviewers {
		if !strings.Contains(landing, html.EscapeString(r.card.Recipient().String())) || !strings.Contains(landing, r.fp) {
			t.Errorf("landing page lacks reviewer %s's fingerprint or age recipient", r.fp)
		}
	}
	code := e.submit(textPart("message", "a report"))
	rc := e.login(code)
	if _, casePage := e.get(rc, "/followup"); !strings.Contains(casePage, `href="/info/external"`) {
		t.Errorf("case page does not link the information pages")
	}
}

// TestTeamPagesInBrowser: the landing page with the reviewers' encryption keys and the
// information links, and an information page in English and German, in real headless Chromium
// with JavaScript off, pass axe-core; screenshots go to CANDOR_SCREENSHOTS.
func TestTeamPagesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	axe, err := os.ReadFile(testenv.AxeScript(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := browserCtx(t)
	set := installation.DefaultSettings()
	set.InfoPages = []installation.InfoPage{
		{Kind: "procedure", Lang: "en", Title: "How we handle your report",
			Body: "We acknowledge your report within 7 days.\n\nWe tell you what we are doing about it within 3 months."},
		{Kind: "external", Lang: "en", Title: "Reporting outside the force",
			Body: "You can also report to the Independent Office for Police Conduct (IOPC):\nwww.policeconduct.gov.uk\n\nOr to another prescribed person or body, for example HM Inspectorate of Constabulary."},
		{Kind: "external", Lang: "de", Title: "Externe Meldestellen",
			Body: "Sie können sich auch an die externe Meldestelle des Bundes wenden."},
	}
	e := newEnv(t, envOptions{settings: &set})
	dir := os.Getenv("CANDOR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pc := &pageChecker{t: t, ctx: ctx, dir: dir, axe: string(axe)}
	for _, p := range []struct{ name, path, sel string }{
		{"team-landing", "/", "#reviewers-heading"},
		{"team-info-external", "/info/external", "h1"},
		{"team-info-external-de", "/info/external?lang=de", "h1"},
		{"team-info-procedure-de", "/info/procedure?lang=de", "h1"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(p.sel)); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		pc.check(p.name)
	}
}
