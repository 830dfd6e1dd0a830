package server

import (
	"fmt"
	"html"
	"strings"
	"testing"

	"candor/internal/day"
	"candor/server/store"
)

func TestDeadlines(t *testing.T) {
	rcv := mustDay(t, "2026-01-30")
	tests := []struct {
		name          string
		c             store.Case
		today         string
		ack, feedback string
		overdue       bool
	}{
		{"new", store.Case{Received: rcv}, "2026-02-06", "2026-02-06", "2026-05-06", false},
		{"ack late", store.Case{Received: rcv}, "2026-02-07", "2026-02-06", "2026-05-06", true},
		{"acknowledged", store.Case{Received: rcv, Acknowledged: mustDay(t, "2026-02-02")}, "2026-05-02", "2026-02-06", "2026-05-02", false},
		{"feedback late", store.Case{Received: rcv, Acknowledged: mustDay(t, "2026-02-02")}, "2026-05-03", "2026-02-06", "2026-05-02", true},
		// Acknowledged after its due date: feedback counts from the actual acknowledgement.
		{"late ack moves feedback", store.Case{Received: rcv, Acknowledged: mustDay(t, "2026-02-20")}, "2026-05-10", "2026-02-06", "2026-05-20", false},
		{"never acknowledged", store.Case{Received: rcv}, "2026-05-07", "2026-02-06", "2026-05-06", true},
		{"closed", store.Case{Received: rcv, Closed: mustDay(t, "2026-03-01")}, "2027-01-01", "2026-02-06", "2026-05-06", false},
		{"month end", store.Case{Received: mustDay(t, "2026-11-23"), Acknowledged: mustDay(t, "2026-11-30")}, "2026-12-01", "2026-11-30", "2027-02-28", false},
		{"leap year", store.Case{Received: mustDay(t, "2027-11-22"), Acknowledged: mustDay(t, "2027-11-29")}, "2027-12-01", "2027-11-29", "2028-02-29", false},
		{"year end", store.Case{Received: mustDay(t, "2026-10-24")}, "2026-10-31", "2026-10-31", "2027-01-31", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, fb, over := Deadlines(&tt.c, mustDay(t, tt.today))
			if ack.String() != tt.ack || fb.String() != tt.feedback || over != tt.overdue {
				t.Errorf("got %v %v %v, want %s %s %v", ack, fb, over, tt.ack, tt.feedback, tt.overdue)
			}
		})
	}
}

// enDate formats d as the English pages do.
func enDate(e *env, d day.Day) string {
	tm := d.Time()
	return fmt.Sprintf("%d %s %d", tm.Day(), e.srv.fe.T("en", "month."+fmt.Sprint(int(tm.Month()))), tm.Year())
}

func mustDay(t *testing.T, s string) day.Day {
	t.Helper()
	d, err := day.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
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
		o, err := Overdue(e.st, today)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Attention(e.st, today)
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
	ack, fb, _ := Deadlines(c, day.FromTime(e.clock.t))
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
	e.clock.t = addMonths(today, 3).AddDays(1).Time()
	check("feedback late", 1, 1)
	if _, err := e.st.UpdateCase(c.ID, func(c *store.Case) error { c.Closed = today; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	check("closed", 0, 0)
}
