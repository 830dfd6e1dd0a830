package installation

import (
	"time"

	"candor/internal/day"
	"candor/server/store"
)

// The EU Whistleblowing Directive clock (Directive (EU) 2019/1937, Art. 9(1)(b) and (f)).
const (
	AckDays        = 7 // acknowledgement due this many days after receipt
	FeedbackMonths = 3 // feedback due this many months after acknowledgement
)

// Deadlines returns a case's due dates and whether it is overdue on today. This is the one place
// the dates are computed; the receipt page, the case page, Overdue and Attention all use it.
//
// The acknowledgement is due AckDays after receipt. Feedback is due FeedbackMonths after the
// acknowledgement, or — while the case is not acknowledged — after the acknowledgement's due
// date, so that a late acknowledgement never moves the feedback deadline earlier than the law
// allows nor lets a never-acknowledged case escape it. A case is overdue when it is not
// acknowledged after its acknowledgement date, or has had no feedback (a reply marked as the
// Directive's feedback) after its feedback date. A closed case is never overdue.
//
// Regression: a case used to stay overdue for feedback until it was closed, even after the
// feedback was given, and the reporter's page then said a deadline had passed without an answer.
func Deadlines(c *store.Case, today day.Day) (ack, feedback day.Day, overdue bool) {
	ack, feedback = DueDates(c.Received, c.Acknowledged)
	if c.Closed != 0 {
		return ack, feedback, false
	}
	overdue = (c.Acknowledged == 0 && today > ack) || (c.FeedbackGiven == 0 && today > feedback)
	return ack, feedback, overdue
}

// deadlines computes the due dates from the receipt and acknowledgement days (0: none yet).
func DueDates(received, acknowledged day.Day) (ack, feedback day.Day) {
	ack = received.AddDays(AckDays)
	from := ack
	if acknowledged != 0 {
		from = acknowledged
	}
	return ack, addMonths(from, FeedbackMonths)
}

// addMonths returns the same day of the month n months later, or the last day of that month if it
// is shorter (2026-11-30 plus 3 months is 2027-02-28), as EU law counts periods in months
// (Regulation 1182/71, Art. 3(2)(c)). day.AddMonths would overflow into the next month and so
// grant days the law does not.
func addMonths(d day.Day, n int) day.Day {
	t := d.Time()
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return day.FromTime(first.AddDate(0, 0, min(t.Day(), last)-1))
}

// Overdue counts the cases of st that are overdue on today (see Deadlines), for candor status.
func Overdue(st *store.Store, today day.Day) (int, error) {
	return countCases(st, func(c *store.Case) bool {
		_, _, overdue := Deadlines(c, today)
		return overdue
	})
}

// Attention counts the cases that need a reviewer's attention on today: open cases that are
// overdue or not yet acknowledged (a new report counts until it is acknowledged). It is the
// number the notification webhook sends.
func Attention(st *store.Store, today day.Day) (int, error) {
	return countCases(st, func(c *store.Case) bool {
		_, _, overdue := Deadlines(c, today)
		return c.Closed == 0 && (overdue || c.Acknowledged == 0)
	})
}

func countCases(st *store.Store, match func(*store.Case) bool) (int, error) {
	n := 0
	err := st.Cases(func(c *store.Case) error {
		if match(c) {
			n++
		}
		return nil
	})
	return n, err
}
