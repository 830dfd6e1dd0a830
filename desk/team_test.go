package desk

import (
	"regexp"
	"strings"
	"testing"
)

// TestTeamActions: note, assign, feedback reply and delete each queue one envelope through the
// inbox call the CLI makes; what the inbox refuses (an unknown reviewer to share with, a deletion
// without a reason or without the confirm step) is shown in plain words with nothing queued.
func TestTeamActions(t *testing.T) {
	w := newWorld(t)
	w.report("Invoices are split to stay under the approval limit.")
	r := startDesk(t, w.home, true)
	r.importBundle(t, w)
	id := r.onlyCase(t)
	origin := "Origin: http://" + r.host
	form := "Content-Type: application/x-www-form-urlencoded"

	refused := []struct{ name, path, body, want string }{
		{"empty note", "note", "note=+", "desk.err.nomessage"},
		{"share with an unknown reviewer", "share", "who=not-a-fingerprint", "desk.err.notreviewer"},
		{"assign to a stranger", "assign", "who=not-a-fingerprint", "desk.err.notreviewer"},
		{"delete without the confirm step", "delete", "reason=spam", "desk.err.badform"},
		{"delete without a reason", "delete", "confirm=yes&reason=+", "desk.err.noreason"},
	}
	before := r.state(t)
	for _, tt := range refused {
		code, body, _ := do(t, "POST", r.url+"case/"+id+"/"+tt.path, tt.body, origin, form)
		if code < 400 || code >= 500 {
			t.Errorf("%s: got status %d, want 4xx", tt.name, code)
		}
		if want := r.d.f.T("en", tt.want+".title"); !strings.Contains(body, want) {
			t.Errorf("%s: the page does not say %q", tt.name, want)
		}
		if after := r.state(t); after != before {
			t.Errorf("%s: the inbox changed: %+v, was %+v", tt.name, after, before)
		}
	}

	code, body, _ := do(t, "GET", r.url+"case/"+id+"/delete", "")
	if code != 200 || !strings.Contains(body, `name="confirm" value="yes"`) {
		t.Fatalf("the delete confirm page: status %d, no confirm field", code)
	}
	for _, a := range []struct{ path, body string }{
		{"note", "note=Asked+IT+to+keep+the+logs."},
		{"assign", "who=me"},
		{"assign", "who=none"},
		{"delete", "confirm=yes&reason=spam"},
	} {
		if code, _, _ := do(t, "POST", r.url+"case/"+id+"/"+a.path, a.body, origin, form); code != 303 {
			t.Fatalf("%s %s: got status %d, want 303", a.path, a.body, code)
		}
	}
	code, _ = post(t, r, "case/"+id+"/reply", map[string]string{"message": "We stopped the split invoices.", "feedback": "yes"}, nil)
	if code != 303 {
		t.Fatalf("feedback reply: got status %d, want 303", code)
	}
	if after := r.state(t); after.pending != before.pending+5 {
		t.Errorf("got %d envelopes pending, want %d", after.pending, before.pending+5)
	}
}

// TestReportsAndSearch: the stats page and its CSV, the casefile download, and the list's search
// over decrypted text, each what the inbox call gives.
func TestReportsAndSearch(t *testing.T) {
	w := newWorld(t)
	w.report("The forklift brakes were never repaired.")
	r := startDesk(t, w.home, true)
	r.importBundle(t, w)
	id := r.onlyCase(t)

	code, body, h := do(t, "GET", r.url+"stats.csv", "")
	if code != 200 || !strings.HasPrefix(body, "metric,group,month,value") || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Errorf("stats.csv: status %d, disposition %q, body %.40q", code, h.Get("Content-Disposition"), body)
	}
	if code, _, _ := do(t, "GET", r.url+"stats?from=not-a-day", ""); code != 400 {
		t.Errorf("stats with a malformed day: got status %d, want 400", code)
	}
	code, body, h = do(t, "GET", r.url+"case/"+id+"/casefile", "")
	if code != 200 || !strings.Contains(body, "forklift brakes") || !strings.Contains(h.Get("Content-Disposition"), "casefile-") {
		t.Errorf("casefile: status %d, disposition %q, report text present %v", code, h.Get("Content-Disposition"),
			strings.Contains(body, "forklift brakes"))
	}
	if code, _, h := do(t, "GET", r.url+"case/nonexistent/casefile", ""); code != 404 || h.Get("Content-Disposition") != "" {
		t.Errorf("casefile of no case: got status %d, disposition %q", code, h.Get("Content-Disposition"))
	}
	for q, want := range map[string]bool{"FORKLIFT": true, "payroll": false} {
		_, body, _ := do(t, "GET", r.url+"cases?q="+q, "")
		if got := strings.Contains(body, "case/"+id); got != want {
			t.Errorf("search %q: case listed %v, want %v", q, got, want)
		}
	}
	for q, want := range map[string]bool{"me": false, "none": true} {
		_, body, _ := do(t, "GET", r.url+"cases?assignee="+q, "")
		if got := strings.Contains(body, "case/"+id); got != want {
			t.Errorf("assignee %q: case listed %v, want %v", q, got, want)
		}
	}
}

// TestIntake: an oral report becomes one queued intake, and the answer shows the receipt code
// once; the intake page shown again does not hold it; a cross-origin intake is refused with
// nothing queued.
func TestIntake(t *testing.T) {
	w := newWorld(t)
	w.report("First written report.")
	r := startDesk(t, w.home, true)
	r.importBundle(t, w)
	before := r.state(t)
	if code, _, _ := do(t, "POST", r.url+"intake", "message=x", "Origin: http://evil.example"); code != 403 {
		t.Errorf("cross-origin intake: got status %d, want 403", code)
	}
	if after := r.state(t); after != before {
		t.Fatalf("a refused intake changed the inbox: %+v, was %+v", after, before)
	}
	code, body := post(t, r, "intake", map[string]string{"message": "Phone call: the night shift skips the gas checks."},
		map[string]map[string][]byte{"file": {"minutes.txt": []byte("minutes")}})
	if code != 200 {
		t.Fatalf("intake: got status %d, want 200", code)
	}
	m := regexp.MustCompile(`<code id="receipt">([^<]+)</code>`).FindStringSubmatch(body)
	if m == nil || len(strings.TrimSpace(m[1])) < 10 {
		t.Fatalf("intake: no receipt code on the answer")
	}
	if after := r.state(t); after.pending != before.pending+1 {
		t.Errorf("got %d envelopes pending, want %d", after.pending, before.pending+1)
	}
	_, again, _ := do(t, "GET", r.url+"intake", "")
	if strings.Contains(again, m[1]) {
		t.Errorf("the intake page shows the receipt code again")
	}
	if code, _ := post(t, r, "intake", map[string]string{"message": " "}, nil); code != 400 {
		t.Errorf("empty intake: got status %d, want 400", code)
	}
}
