package installation

import (
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
		// The regression of issue 14: feedback given (in time or late) stops the feedback clock.
		{"feedback given in time", store.Case{Received: rcv, Acknowledged: mustDay(t, "2026-02-02"),
			FeedbackGiven: mustDay(t, "2026-04-30")}, "2026-09-01", "2026-02-06", "2026-05-02", false},
		{"feedback given late", store.Case{Received: rcv, Acknowledged: mustDay(t, "2026-02-02"),
			FeedbackGiven: mustDay(t, "2026-05-10")}, "2026-05-11", "2026-02-06", "2026-05-02", false},
		{"feedback given, never acknowledged", store.Case{Received: rcv, FeedbackGiven: mustDay(t, "2026-02-03")},
			"2026-02-07", "2026-02-06", "2026-05-06", true},
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

func mustDay(t *testing.T, s string) day.Day {
	t.Helper()
	d, err := day.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
