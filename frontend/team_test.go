package frontend

import (
	"html"
	"strings"
	"testing"
)

// TestCaseFeedbackGiven: once the reviewers gave feedback, the case page says so in plain words
// and never that a deadline passed without an answer (issue 14's deadline bug), in every language;
// a closed case names its outcome; an oral report's record offers agreement and correction.
func TestCaseFeedbackGiven(t *testing.T) {
	f := newTest(t)
	for _, l := range f.Languages() {
		t.Run(l.Tag, func(t *testing.T) {
			cd := samplePages(t, f, l.Tag, identity)[PageCase].(CaseData)
			cd.Overdue = false
			cd.FeedbackGiven = testDay(t, "2027-01-15")
			cd.Status, cd.Outcome = StatusClosed, "referred"
			cd.Record = &Reply{Day: testDay(t, "2026-11-23"), Author: "Office of the Ombudsman", Text: "Caller said: the sergeant took cash."}
			out := mustRender(t, f, PageCase, cd)
			checkCommon(t, out, l)
			for _, key := range []string{"case.feedback_given", "case.record.heading", "case.record.agree",
				"case.record.correct", "case.record.correction.label", "outcome.referred"} {
				if s := html.EscapeString(f.T(l.Tag, key)); !strings.Contains(out, s) {
					t.Errorf("page lacks %s: %q", key, s)
				}
			}
			if s := html.EscapeString(f.T(l.Tag, "case.overdue")); strings.Contains(out, s) {
				t.Errorf("page says a deadline passed without an answer although feedback was given")
			}
			if !strings.Contains(out, html.EscapeString(f.T(l.Tag, "case.record.agreed"))) {
				t.Errorf("the agreement form does not send the agreement text")
			}
			if strings.Count(out, `action="/followup/message"`) != 3 {
				t.Errorf("want the agree, correct and message forms, each posting a follow-up message")
			}
		})
	}
}
