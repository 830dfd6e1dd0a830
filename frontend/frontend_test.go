package frontend

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestRenderEveryPageEveryLanguage(t *testing.T) {
	f := newTest(t)
	for _, l := range f.Languages() {
		pages := samplePages(t, f, l.Tag, identity)
		for _, name := range Pages() {
			t.Run(l.Tag+"/"+name, func(t *testing.T) {
				out := mustRender(t, f, name, pages[name])
				checkCommon(t, out, l)
			})
		}
	}
}

// checkCommon asserts what every page must satisfy.
func checkCommon(t *testing.T, out string, l Language) {
	t.Helper()
	want := `<html lang="` + l.Tag + `" dir="` + l.Dir + `">`
	if !strings.Contains(out, want) {
		t.Errorf("missing %s", want)
	}
	for _, bad := range []string{"style=", "<style", "<script", "javascript:", "ZgotmplZ", "%!"} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"?\s*(https?:)?//`).FindString(out); m != "" {
		t.Errorf("page refers to another site: %q", m)
	}
	for _, s := range []string{`<a class="skip" href="#main">`, `<main id="main"`, "<header", "<footer", "<h1>", `href="/static/candor.css"`} {
		if !strings.Contains(out, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	if n := strings.Count(out, "<h1"); n != 1 {
		t.Errorf("got %d h1 elements, want 1", n)
	}
	checkLabels(t, out)
}

// checkLabels asserts that every form control (but hidden inputs and buttons)
// has a <label for> and every id is unique.
func checkLabels(t *testing.T, out string) {
	t.Helper()
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(`\sid="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q used %d times", id, n)
		}
	}
	for _, m := range regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`).FindAllString(out, -1) {
		if strings.Contains(m, `type="hidden"`) {
			continue
		}
		id := regexp.MustCompile(`\sid="([^"]*)"`).FindStringSubmatch(m)
		if id == nil || !strings.Contains(out, `<label for="`+id[1]+`"`) {
			t.Errorf("control without label: %s", m)
		}
	}
	for _, m := range regexp.MustCompile(`aria-describedby="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		for _, id := range strings.Fields(m[1]) {
			if ids[id] == 0 {
				t.Errorf("aria-describedby refers to missing id %q", id)
			}
		}
	}
}

func TestReceiptCode(t *testing.T) {
	f := newTest(t)
	out := mustRender(t, f, PageReceipt, samplePages(t, f, "en", identity)[PageReceipt])
	m := regexp.MustCompile(`<p class="code" id="receipt-code">([^<]*)</p>`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no receipt-code element with text only")
	}
	if m[1] != testCode {
		t.Errorf("got receipt code %q, want %q", m[1], testCode)
	}
	if n := strings.Count(out, testCode); n != 1 {
		t.Errorf("code appears %d times, want 1", n)
	}
	// Leaving the page loses the code: no navigation in the header.
	for _, s := range []string{`href="/report"`, `?lang=`, `class="brand" href`} {
		if strings.Contains(out, s) {
			t.Errorf("receipt page has a link away: %s", s)
		}
	}
	for _, s := range []string{"30 November 2026", "28 February 2027", "48,213", `href="/followup"`, "<pre class=\"checkpoint\">"} {
		if !strings.Contains(out, s) {
			t.Errorf("receipt page lacks %q", s)
		}
	}
}

func TestForms(t *testing.T) {
	f := newTest(t)
	pages := samplePages(t, f, "en", identity)
	tests := []struct {
		page string
		want []string
	}{
		{PageReport, []string{
			`<form method="get" action="/report" class="topic">`,
			`<input type="radio" name="category" id="topic-1" value="corruption" checked`,
			`<form method="post" action="/report" enctype="multipart/form-data"`,
			`<input type="hidden" name="category" value="corruption">`,
			`name="q.when"`, `<select id="q-unit" name="q.unit" required>`, `name="q.ongoing" id="q-ongoing-yes" value="yes"`,
			`<textarea id="q-evidence" name="q.evidence"`,
			`<textarea id="message" name="message"`,
			`<input type="file" id="file-1" name="file" multiple>`,
			`<input type="file" id="file-2" name="file">`, `<input type="file" id="file-4" name="file">`,
			"up to 20 files, up to 2\u00a0GiB in total", "50,000 characters",
			`<button type="submit"`,
		}},
		{PageFollowup, []string{
			`<form method="post" action="/followup" class="login">`,
			`<input type="text" id="receipt" name="receipt" autocomplete="off"`,
			`aria-describedby="receipt-help receipt-error" aria-invalid="true"`,
			"We could not find a report for that receipt code. Check the words and try again.",
		}},
		{PageCase, []string{
			`<form method="post" action="/followup/message" enctype="multipart/form-data"`,
			`<textarea id="message" name="message"`, `name="file" multiple>`,
			`<form method="post" action="/logout">`, "30 minutes",
			"Being reviewed", "23 November 2026", "<td>4.5\u00a0MiB</td>", "entry 48,213 of the case log",
			`<div class="reply-text" dir="auto">Thank you`, "Warning: some replies (1) could not be opened", `href="/followup/file/3f9a"`, "179.2\u00a0KiB",
		}},
		{PageReceipt, []string{
			"entry number 48,213 of the case log, recorded in a log that the reviewers and independent witnesses check",
			"cosigned covers 48,214 entries, your report included", "candor.example/log",
		}},
		{PageError, []string{"Your upload is too large", "The limit is 2\u00a0GiB.", `href="/report"`}},
		{PageLanding, []string{`href="/report"`, `href="/followup"`, "k7qa-m2xd-9fhe-r4tz-pw3c-ua6n", "ACME Police Service", `href="/?lang=de"`}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			out := mustRender(t, f, tt.page, pages[tt.page])
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("page lacks %s", w)
				}
			}
		})
	}
}

func TestAllReviewersCheckedByDefault(t *testing.T) {
	f := newTest(t)
	d := samplePages(t, f, "de", identity)[PageReport].(ReportData)
	out := mustRender(t, f, PageReport, d)
	boxes := regexp.MustCompile(`<input type="checkbox" name="reviewer"[^>]*>`).FindAllString(out, -1)
	if len(boxes) != len(d.Reviewers) {
		t.Fatalf("got %d reviewer checkboxes, want %d", len(boxes), len(d.Reviewers))
	}
	for i, b := range boxes {
		if !strings.Contains(b, `value="`+d.Reviewers[i].Fingerprint+`"`) || !strings.HasSuffix(b, " checked>") {
			t.Errorf("checkbox %d: got %s, want value %s and checked", i, b, d.Reviewers[i].Fingerprint)
		}
	}
}

func TestReportSingleCategoryHasNoChooser(t *testing.T) {
	f := newTest(t)
	d := samplePages(t, f, "en", identity)[PageReport].(ReportData)
	d.Categories, d.Selected = d.Categories[:1], ""
	out := mustRender(t, f, PageReport, d)
	if strings.Contains(out, `method="get"`) {
		t.Error("single category: want no topic chooser")
	}
	if !strings.Contains(out, `<input type="hidden" name="category" value="general">`) {
		t.Error("single category: hidden category input missing")
	}
}

// TestHostileData renders every user- or admin-supplied string as markup and as
// a bidi override and checks that neither reaches the page unescaped.
func TestHostileData(t *testing.T) {
	f := newTest(t)
	const script = `<script>alert(1)</script>"'><img src=x>`
	hostile := func(s string) string { return s + script + "\u202egpj.exe" }
	for _, name := range Pages() {
		t.Run(name, func(t *testing.T) {
			data := samplePages(t, f, "en", hostile)[name]
			if name == PageCase {
				d := data.(CaseData)
				d.Replies[1].Files[0].URL = "javascript:alert(1)"
				data = d
			}
			if name == PageError {
				d := data.(ErrorData)
				d.Back, d.Message = "//evil.example/", script
				data = d
			}
			out := mustRender(t, f, name, data)
			for _, bad := range []string{"<script", "<img src=x", "\u202e", "javascript:", `href="//`} {
				if strings.Contains(out, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			if name != PageError && name != PageFollowup && !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Error("hostile text not shown escaped")
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	f := newTest(t)
	var b strings.Builder
	if err := f.Render(&b, PageLanding, struct{}{}); !errors.Is(err, ErrNoPage) {
		t.Errorf("no Page: got %v, want ErrNoPage", err)
	}
	if err := f.Render(&b, "nope", LandingData{Page: f.Page("en", "/")}); !errors.Is(err, ErrUnknownPage) {
		t.Errorf("unknown page: got %v, want ErrUnknownPage", err)
	}
	if err := f.Render(&b, PageLanding, LandingData{Page: Page{Lang: "xx"}}); !errors.Is(err, ErrUnknownLanguage) {
		t.Errorf("unknown language: got %v, want ErrUnknownLanguage", err)
	}
	if err := f.Render(&b, PageLanding, &LandingData{Page: f.Page("de", "/")}); err != nil {
		t.Errorf("pointer data: %v", err)
	}
}

// TestRenderErrorIsNotSecret makes rendering fail with a receipt page and
// checks that the error does not carry the code.
func TestRenderErrorIsNotSecret(t *testing.T) {
	f := newTest(t)
	d := samplePages(t, f, "en", identity)[PageReceipt].(ReceiptData)
	var b strings.Builder
	err := f.Render(&b, PageCase, d) // wrong data type for the page
	if err == nil {
		t.Fatal("rendering receipt data as the case page succeeded")
	}
	for _, w := range strings.Fields(testCode) {
		if strings.Contains(err.Error(), w) {
			t.Errorf("error %q contains a word of the receipt code", err)
		}
	}
}

func TestPage(t *testing.T) {
	f := newTest(t)
	p := f.Page("DE-at", "/report")
	if p.Lang != "de" || p.Dir != "ltr" || p.Path != "/report" || len(p.Languages) != len(f.Languages()) {
		t.Errorf("got %+v", p)
	}
	if p := f.Page("xx", "/"); p.Lang != DefaultLanguage {
		t.Errorf("unknown language: got %q, want %q", p.Lang, DefaultLanguage)
	}
}

func TestLanguages(t *testing.T) {
	f := newTest(t)
	got := f.Languages()
	want := []Language{{"en", "English", "ltr"}, {"de", "Deutsch", "ltr"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("language %d: got %v, want %v", i, got[i], want[i])
		}
	}
	got[0].Tag = "changed"
	if f.Languages()[0].Tag != "en" {
		t.Error("Languages returned shared state")
	}
}

func TestStatic(t *testing.T) {
	f := newTest(t)
	for _, name := range []string{"candor.css", "logo.svg"} {
		b, err := fsReadFile(f, name)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	css, _ := fsReadFile(f, "candor.css")
	for _, s := range []string{":focus-visible", "prefers-color-scheme", "@media print", "max-width: 40rem"} {
		if !strings.Contains(string(css), s) {
			t.Errorf("candor.css lacks %s", s)
		}
	}
	if regexp.MustCompile(`@import|url\(|@font-face`).Match(css) {
		t.Error("candor.css loads other resources")
	}
}
