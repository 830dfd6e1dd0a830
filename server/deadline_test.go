package server

import (
	"candor/installation"
	"candor/internal/day"
	"candor/server/store"
	"fmt"
	"html"
	"strings"
	"testing"
)

// enDate formats d as the English pages do.
func enDate(e *env, d day.Day) string {
	tm := d.Time()
	return fmt.Sprintf("%d %s %d", tm.Day(), e.srv.fe.T("en", "month."+fmt.Sprint(int(tm.Month()))), tm.Year())
}

// TestOverdueClock moves the server's clock: a new case needs attention at once, becomes overdue
// after 7 days without acknowledgement, and is counted until it is closed; the reporter's case
// page shows the dates and the overdue warning.
func TestOverdueClock(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "x"))
	c := e.onlyCase()
	count := func() (overdue, attention int) {
		today := day.FromTime(e.clock.t)
		o, err := installation.Overdue(e.st, today)
		if err != nil {
			t.Fatal(err)
		}
		a, err := installation.Attention(e.st, today)
		if err != nil {
			t.Fatal(err)
		}
		return o, a
	}
	check := func(step string, wantO, wantA int) {
		t.Helper()
		if o, a := count(); o != wantO || a != wantA {
			t.Errorf("%s: got overdue %d attention %d, want %d %d", step, o, a, wantO, wantA)
		}
	}
	check("day 0", 0, 1)
	e.clock.t = e.clock.t.AddDate(0, 0, 7)
	check("day 7", 0, 1)
	e.clock.t = e.clock.t.AddDate(0, 0, 1)
	check("day 8", 1, 1)
	ack, fb, _ := installation.Deadlines(c, day.FromTime(e.clock.t))
	_, page := e.get(e.login(code), "/followup")
	for _, want := range []string{enDate(e, ack), enDate(e, fb), e.srv.fe.T("en", "case.overdue")} {
		if !strings.Contains(page, html.EscapeString(want)) {
			t.Errorf("the case page lacks %q", want)
		}
	}
	today := day.FromTime(e.clock.t)
	if _, err := e.st.UpdateCase(c.ID, func(c *store.Case) error { c.Acknowledged = today; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	check("acknowledged", 0, 0)
	_, due := installation.DueDates(c.Received, today) // three months after the acknowledgement
	e.clock.t = due.AddDays(1).Time()
	check("feedback late", 1, 1)
	if _, err := e.st.UpdateCase(c.ID, func(c *store.Case) error { c.Closed = today; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	check("closed", 0, 0)
}
