package frontend

import (
	"io/fs"
	"strings"
	"testing"

	"candor/internal/day"
)

// testCode is a receipt code in the real format (8 EFF words).
const testCode = "crumpled mulberry outright sprawl tavern unsaid viewpoint gecko"

func newTest(t testing.TB) *Frontend {
	t.Helper()
	f, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func testDay(t testing.TB, s string) day.Day {
	t.Helper()
	d, err := day.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var testLimits = Limits{MaxTotalBytes: 2 << 30, MaxFiles: 20, MaxMessageChars: 50000}

// samplePages returns realistic data for every page in lang. Every string a
// user or an admin supplies is built by u, so a test can make them hostile.
func samplePages(t testing.TB, f *Frontend, lang string, u func(string) string) map[string]any {
	t.Helper()
	reviewers := []Reviewer{
		{Name: u("Office of the Ombudsman"), Fingerprint: "k7qa-m2xd-9fhe-r4tz-pw3c-ua6n", Recipient: "age1pq1" + strings.Repeat("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 40)},
		{Name: u("Dr. Amira Haddad, external auditor"), Fingerprint: "b3lm-q8vw-yt2s-e6ro-c5ga-hj4x"},
		{Name: u("Professional Standards Board"), Fingerprint: "zx4c-v7bn-m2as-d9fg-h3jk-l8qw"},
	}
	cats := []Category{
		{ID: "general", Name: u("General misconduct"), Description: u("Anything that does not fit another topic.")},
		{ID: "corruption", Name: u("Bribery and corruption"), Description: u("Money, gifts or favours in exchange for decisions."),
			Fields: []Field{
				{ID: "when", Label: u("When did it happen?"), Help: u("An approximate date is enough."), Kind: FieldText},
				{ID: "unit", Label: u("Which unit is involved?"), Kind: FieldSelect, Options: []string{u("Patrol"), u("Traffic"), u("Investigations")}, Required: true},
				{ID: "ongoing", Label: u("Is it still going on?"), Kind: FieldYesNo},
				{ID: "evidence", Label: u("What evidence exists?"), Help: u("Documents, messages, witnesses."), Kind: FieldTextarea},
			}},
	}
	page := func(path string) Page {
		p := f.Page(lang, path)
		p.Title, p.Info = u("ACME Integrity Line"), []string{"procedure", "privacy", "external"}
		return p
	}
	return map[string]any{
		PageLanding: LandingData{Page: page("/"), ServiceName: u("ACME Integrity Line"), Organisation: u("ACME Police Service"), Reviewers: reviewers},
		PageReport: ReportData{Page: page("/report"), Categories: cats, Selected: "corruption", Reviewers: reviewers,
			Limits: testLimits, Token: "tok3n", Kept: Kept{Message: u("The purchasing director takes bribes."),
				Answers: map[string]string{"when": u("March"), "unit": u("Traffic"), "ongoing": "yes", "evidence": u("Emails")},
				Files:   []string{u("minutes.pdf"), u("photo.jpg")},
				Problems: []Problem{f.Problem(page("/report"), ErrorTooManyFiles, testLimits),
					{Summary: u("Please answer the required question.")}}}},
		PageReceipt: ReceiptData{Page: page("/report"), Code: testCode, LogIndex: 48213,
			Witnessed: 48214, Checkpoint: "candor.example/log\n48214\nq0Jd8m6P0c2a9sT3w1yQ3nKcZ0b4WmXv4cQeT2m9a1M=\n\n— candor hO3x0Vv1kA2b…\n",
			AckDue: testDay(t, "2026-11-30"), FeedbackDue: testDay(t, "2027-02-28")},
		PageFollowup: FollowupData{Page: page("/followup"), Error: f.T(lang, ErrorWrongReceipt.MessageKey()),
			Unsent: Kept{Message: u("It was in 2025."), Files: []string{u("scan.pdf")}}},
		PageCase: CaseData{Page: page("/followup"), Status: StatusInReview, Unreadable: 1,
			Received: testDay(t, "2026-11-23"), AckDue: testDay(t, "2026-11-30"), FeedbackDue: testDay(t, "2027-02-28"), Overdue: true,
			Sent: []Sent{{Day: testDay(t, "2026-11-23"), Files: 3, Size: 4718592}, {Day: testDay(t, "2026-12-02"), Files: 0, Size: 4096}},
			Replies: []Reply{
				{Day: testDay(t, "2026-11-25"), Author: u("Office of the Ombudsman"),
					Text: u("Thank you for your report. We have received it.\n\nCould you tell us:\n  1. the approximate date,\n  2. whether anyone else saw it?")},
				{Day: testDay(t, "2026-12-04"), Author: u("Dr. Amira Haddad"), Text: u("Please see the attached form."),
					Files: []ReplyFile{{Name: u("witness-statement-form.pdf"), Size: 183500, URL: "/followup/file/3f9a"}}},
			},
			Log:    LogView{Index: 48213},
			Limits: testLimits, Notice: u("Your message was sent."),
			Kept: Kept{Message: u("It was in 2025."), Files: []string{u("scan.pdf")}, MoreFiles: true,
				Problems: []Problem{f.Problem(page("/followup"), ErrorMessageTooLong, testLimits)}}},
		PageError:     f.Error(page("/report"), ErrorTooLarge, testLimits),
		PageLoggedOut: LoggedOutData{Page: page("/")},
		PageInfo: InfoData{Page: page("/info/external"), Kind: "external", WrittenIn: "en", Heading: u("External reporting routes"),
			Paragraphs: []string{u("You may report to the IOPC: www.policeconduct.gov.uk."), u("Or to a prescribed person.")}},
	}
}

func identity(s string) string { return s }

func mustRender(t testing.TB, f *Frontend, page string, data any) string {
	t.Helper()
	var b strings.Builder
	if err := f.Render(&b, page, data); err != nil {
		t.Fatalf("Render(%s): %v", page, err)
	}
	return b.String()
}

func fsReadFile(f *Frontend, name string) ([]byte, error) { return fs.ReadFile(f.Static(), name) }
