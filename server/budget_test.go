package server

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"candor/candortest"
	"candor/frontend"
	"candor/server/circuit"
)

// overBudgetPage checks that a refusal is the over-budget page: 429, a Retry-After of at least a
// second, the page's advice to wait or open a new identity.
func overBudgetPage(t *testing.T, e *env, resp *http.Response, page string) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("got status %d, want 429\n%.400s", resp.StatusCode, page)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
	}
	for _, key := range []string{frontend.ErrorOverBudget.MessageKey(), "error.over_budget.identity"} {
		if want := html.EscapeString(e.srv.fe.T("en", key)); !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(page, "Please try again in ") {
		t.Errorf("page does not say how long to wait")
	}
}

func postReport(t *testing.T, e *env, c *http.Client, msg string) (*http.Response, string) {
	t.Helper()
	body, ct := multipartBody(textPart("message", msg))
	return e.post(c, "/report", ct, bytes.NewReader(body))
}

// TestCircuitSubmissionBudget: a circuit past its submission budget gets the over-budget page and
// nothing is stored, while another circuit submits at once; the circuit's budget refills with time.
func TestCircuitSubmissionBudget(t *testing.T) {
	clock := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	keeper := circuit.New(circuit.Config{Now: clock.now})
	e := newEnv(t, envOptions{circuits: true, keeper: keeper})
	alice, bob := e.circuitClient(1001), e.circuitClient(70000)
	budget := circuit.DefaultBudgets().Rates[circuit.Submit].Burst
	for i := range budget {
		if resp, page := postReport(t, e, alice, "report"); resp.StatusCode != http.StatusOK {
			t.Fatalf("alice's report %d: %d\n%.300s", i+1, resp.StatusCode, page)
		}
	}
	before := e.counts()
	resp, page := postReport(t, e, alice, "one too many")
	overBudgetPage(t, e, resp, page)
	if after := e.counts(); after != before {
		t.Errorf("store changed by a refused report: %+v → %+v", before, after)
	}
	if resp, page := postReport(t, e, bob, "bob's report"); resp.StatusCode != http.StatusOK || candortest.ReceiptCode([]byte(page)) == "" {
		t.Fatalf("bob on his own circuit: %d", resp.StatusCode)
	}
	clock.t = clock.t.Add(time.Hour / time.Duration(budget))
	if resp, _ := postReport(t, e, alice, "later"); resp.StatusCode != http.StatusOK {
		t.Errorf("alice after her budget refilled: %d, want 200", resp.StatusCode)
	}
}

// TestCircuitLoginBudget: logins past the budget are refused before any derivation, on that
// circuit only; a new session is budgeted too.
func TestCircuitLoginBudget(t *testing.T) {
	b := circuit.DefaultBudgets()
	e := newEnv(t, envOptions{circuits: true, keeper: circuit.New(circuit.Config{Circuit: &b})})
	code := e.submit(textPart("message", "x"))
	wrong := wrongCode(t, code)
	alice, bob := e.circuitClient(5), e.circuitClient(6)
	logins := b.Rates[circuit.Login].Burst
	for i := range logins {
		if status, _ := e.do(t, alice, "POST", "/followup", nil, login(wrong)); status != http.StatusForbidden {
			t.Fatalf("alice's wrong login %d: %d, want 403", i+1, status)
		}
	}
	resp, page := e.post(alice, "/followup", "application/x-www-form-urlencoded", strings.NewReader("receipt="+strings.ReplaceAll(code, " ", "+")))
	overBudgetPage(t, e, resp, page)
	// Bob's circuit has its own budget: his logins succeed, until his session budget is spent.
	sessions := b.Rates[circuit.Session].Burst
	for i := range sessions {
		if status, page := e.do(t, bob, "POST", "/followup", nil, login(code)); status != http.StatusSeeOther {
			t.Fatalf("bob's login %d: %d\n%.300s", i+1, status, page)
		}
	}
	resp, page = e.post(bob, "/followup", "application/x-www-form-urlencoded", strings.NewReader("receipt="+strings.ReplaceAll(code, " ", "+")))
	overBudgetPage(t, e, resp, page)
}

// TestCircuitFollowUpAndUploads: follow-up messages draw on their budget; a circuit runs at most
// Budgets.Uploads uploads at once.
func TestCircuitFollowUpAndUploads(t *testing.T) {
	b := circuit.DefaultBudgets()
	b.Rates[circuit.FollowUp] = circuit.Rate{Burst: 1, Per: time.Hour}
	b.Uploads = 1
	e := newEnv(t, envOptions{circuits: true, keeper: circuit.New(circuit.Config{Circuit: &b})})
	code := e.submit(textPart("message", "x"))
	cl := e.login(code) // no circuit: the global key, no budget
	alice := e.circuitClient(9)
	alice.Jar = cl.Jar
	body, ct := multipartBody(textPart("message", "more"))
	if resp, page := e.post(alice, "/followup/message", ct, bytes.NewReader(body)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first follow-up: %d\n%.300s", resp.StatusCode, page)
	}
	resp, page := e.post(alice, "/followup/message", ct, bytes.NewReader(body))
	overBudgetPage(t, e, resp, page)

	// One upload at once per circuit: while carol's first report hangs, her second is refused.
	carol := e.circuitClient(10)
	pr, pw := io.Pipe()
	defer pw.Close()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", e.url+"/report", pr)
		req.Header.Set("Content-Type", ct)
		resp, err := carol.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	pw.Write(body[:10])
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.uploads.inUse() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	carol2 := e.circuitClient(10)
	resp, page = postReport(t, e, carol2, "second at once")
	overBudgetPage(t, e, resp, page)
	pw.Write(body[10:])
	pw.Close()
	if st := <-first; st != http.StatusOK {
		t.Errorf("carol's first report: %d, want 200", st)
	}
}

// TestNoDateHeader: no response names the server's time.
func TestNoDateHeader(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	for _, path := range []string{"/", "/report", "/followup", "/static/candor.css", "/nowhere", "/api/v1/pull"} {
		resp, _ := e.get(c, path)
		if d := resp.Header.Get("Date"); d != "" {
			t.Errorf("GET %s: Date %q", path, d)
		}
	}
	resp, _ := e.post(c, "/followup", "application/x-www-form-urlencoded", strings.NewReader("receipt=x"))
	if d := resp.Header.Get("Date"); d != "" {
		t.Errorf("POST /followup: Date %q", d)
	}
	resp, _ = postReport(t, e, c, "x")
	if d := resp.Header.Get("Date"); d != "" || resp.StatusCode != http.StatusOK {
		t.Errorf("POST /report: status %d, Date %q", resp.StatusCode, d)
	}
}

// TestOneSessionPerCase: a new login with a code replaces the session it had, so one code cannot
// fill the session table.
func TestOneSessionPerCase(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{MaxSessions: 3}})
	code := e.submit(textPart("message", "x"))
	first := e.login(code)
	for range 10 {
		e.login(code)
	}
	if n := e.srv.sessions.len(); n != 1 {
		t.Fatalf("%d sessions after 11 logins with one code, want 1", n)
	}
	if _, page := e.get(first, "/followup"); strings.Contains(page, "Current status") {
		t.Errorf("the replaced session still shows the case")
	}
	other := e.submit(textPart("message", "y"))
	if _, page := e.get(e.login(other), "/followup"); !strings.Contains(page, "Current status") {
		t.Errorf("another reporter cannot log in after the flood of one code")
	}
}
