package frontend

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

// TestReportKeepsTypedText renders a refused report and checks that every value the reporter
// typed is back in its control, that the problems are next to their fields, and that the files
// to choose again are named.
func TestReportKeepsTypedText(t *testing.T) {
	f := newTest(t)
	d := samplePages(t, f, "en", identity)[PageReport].(ReportData)
	d.Kept = Kept{Message: "Line one\n<b>two</b> & \u202ethree", ReviewerChoice: true,
		Reviewers: []string{d.Reviewers[1].Fingerprint},
		Answers:   map[string]string{"when": "in \"March\"", "unit": "Traffic", "ongoing": "no", "evidence": "\nEmails"},
		Files:     []string{"minutes.pdf"}, MoreFiles: true,
		Problems: []Problem{f.Problem(d.Page, ErrorNoReviewer, testLimits), f.Problem(d.Page, ErrorMessageTooLong, testLimits),
			f.Problem(d.Page, ErrorTooManyFiles, testLimits)}}
	out := mustRender(t, f, PageReport, d)
	for _, w := range []string{
		`<input type="hidden" name="form-token" value="tok3n">`,
		"aria-invalid=\"true\">\nLine one\n&lt;b&gt;two&lt;/b&gt; &amp; &#x202e;three</textarea>",
		` value="in &#34;March&#34;">`,
		`<option selected>Traffic</option>`,
		`id="q-ongoing-no" value="no" checked>`,
		"name=\"q.evidence\" rows=\"5\" aria-describedby=\"q-evidence-help\">\n\nEmails</textarea>",
		`aria-describedby="message-help message-error" aria-invalid="true"`,
		`<p class="field-error" id="message-error">Your message is too long. The limit is 50,000 characters.</p>`,
		`id="reviewers" aria-describedby="reviewers-help reviewers-error"`,
		`<p class="field-error" id="reviewers-error">No reviewer selected.</p>`,
		`aria-describedby="files-help files-meta files-error files-again"`,
		`<li><bdi>minutes.pdf</bdi></li>`, html.EscapeString(f.T("en", "files.again.more")),
		`<a href="#reviewers">No reviewer selected</a>: You unticked`, `<a href="#message">`, `<a href="#files">`, html.EscapeString(f.T("en", "form.kept")),
	} {
		if !strings.Contains(out, w) {
			t.Errorf("page lacks %s", w)
		}
	}
	boxes := regexp.MustCompile(`<input type="checkbox" name="reviewer"[^>]*>`).FindAllString(out, -1)
	for i, b := range boxes {
		if got, want := strings.HasSuffix(b, " checked>"), i == 1; got != want {
			t.Errorf("reviewer %d: checked %v, want %v", i, got, want)
		}
	}
	// A form that was not refused shows no problem and keeps nothing.
	d.Kept = Kept{}
	out = mustRender(t, f, PageReport, d)
	for _, bad := range []string{"aria-invalid", "field-error", `class="problem"`, "files-again"} {
		if strings.Contains(out, bad) {
			t.Errorf("fresh form contains %s", bad)
		}
	}
}

func TestCaseKeepsTypedText(t *testing.T) {
	f := newTest(t)
	d := samplePages(t, f, "de", identity)[PageCase].(CaseData)
	d.Kept = Kept{Message: "Es war 2025.", Files: []string{"a.pdf", "b.pdf"},
		Problems: []Problem{f.Problem(d.Page, ErrorTooLarge, testLimits)}}
	out := mustRender(t, f, PageCase, d)
	for _, w := range []string{"Es war 2025.</textarea>", `<li><bdi>b.pdf</bdi></li>`, `id="files-error"`,
		html.EscapeString(f.T("de", "form.kept"))} {
		if !strings.Contains(out, w) {
			t.Errorf("page lacks %s", w)
		}
	}
}

func TestKeptText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                 "plain",
		"<&>\"'":                "&lt;&amp;&gt;&#34;&#39;",
		"a\u202eb\u2066c\u200f": "a&#x202e;b&#x2066;c\u200f",
		"nul\x00":               "nul\ufffd",
	} {
		got := string(keptText(in))
		if got != want {
			t.Errorf("keptText(%q) = %q, want %q", in, got, want)
		}
		if in != "nul\x00" && html.UnescapeString(got) != in {
			t.Errorf("keptText(%q) does not unescape to the input", in)
		}
	}
}

func TestReceiptProblem(t *testing.T) {
	f := newTest(t)
	tests := []struct {
		lang    string
		unknown []string
		typed   int
		want    string
	}{
		{"en", []string{"abacuss"}, 8, "This word is not one of the words receipt codes are made of: “abacuss”."},
		{"en", []string{"x", "y"}, 8, "These words are not among the words receipt codes are made of: “x”, “y”."},
		{"de", []string{"abacuss"}, 8, "Dieses Wort gehört nicht zu den Wörtern, aus denen Belegcodes bestehen: „abacuss“."},
		{"en", nil, 7, "You typed 7 words, but a receipt code has 8."},
		{"en", []string{strings.Repeat("w", 50)}, 1, "“" + strings.Repeat("w", 40) + "…”"},
	}
	for _, tt := range tests {
		if got := f.ReceiptProblem(tt.lang, tt.unknown, tt.typed, 8); !strings.Contains(got, tt.want) {
			t.Errorf("ReceiptProblem(%s, %q, %d) = %q, want it to contain %q", tt.lang, tt.unknown, tt.typed, got, tt.want)
		}
	}
}

func TestProblem(t *testing.T) {
	f := newTest(t)
	p := f.Page("en", "/report")
	for _, k := range ErrorKeys() {
		pr := f.Problem(p, k, testLimits)
		if pr.Summary == "" || pr.Heading == "" || pr.Field != k.Field() || (pr.Field != "") != (pr.Fix != "") {
			t.Errorf("%s: got %+v", k, pr)
		}
	}
}
