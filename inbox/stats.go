package inbox

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
)

// StatsOptions restricts Stats to the cases received from From to To (both included); a zero
// day leaves that end open.
type StatsOptions struct {
	From, To day.Day
}

// Stats are the figures an organisation reports on its channel (annual reports, inspections),
// computed offline from what the inbox verified: the log's events (server days, each proven
// included in a signed checkpoint), the reviewers' signed replies and changes. They hold no
// content. The JSON names are part of the CLI contract.
type Stats struct {
	From           string         `json:"from,omitempty"`
	To             string         `json:"to,omitempty"`
	Cases          int            `json:"cases"`
	ByMonth        []MonthCount   `json:"by_category_and_month"`
	Acknowledgment Duration       `json:"days_to_acknowledgement"`
	Feedback       Duration       `json:"days_to_feedback"`
	MissedAck      int            `json:"missed_acknowledgement_deadlines"`
	MissedFeedback int            `json:"missed_feedback_deadlines"`
	Outcomes       map[string]int `json:"outcomes"`
	Open           int            `json:"open"`
	Deleted        int            `json:"deleted"`
	Intakes        int            `json:"oral_reports"`
}

// MonthCount is the number of cases of one category received in one month (YYYY-MM).
type MonthCount struct {
	Category string `json:"category"`
	Month    string `json:"month"`
	Cases    int    `json:"cases"`
}

// Duration summarises days from receipt to an event over the cases that reached it.
type Duration struct {
	Cases  int     `json:"cases"`
	Median float64 `json:"median"`
	Max    int     `json:"max"`
}

// Stats computes the statistics of the inbox's cases as of today. It reads case records only (no
// key is needed, nothing is decrypted) and runs in time linear in the number of cases.
func (in *Inbox) Stats(opt StatsOptions) (*Stats, error) {
	today := in.cfg.today()
	acc := newStatsAcc()
	err := in.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCases).ForEach(func(_, v []byte) error {
			var c caseRecord
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("inbox: corrupt record: %w", err)
			}
			if (opt.From == 0 || c.Received >= opt.From) && (opt.To == 0 || c.Received <= opt.To) {
				acc.add(&c, today)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	s := acc.result()
	if opt.From != 0 {
		s.From = opt.From.String()
	}
	if opt.To != 0 {
		s.To = opt.To.String()
	}
	return s, nil
}

type statsAcc struct {
	s        Stats
	months   map[MonthCount]int
	ack, fbk []int
}

func newStatsAcc() *statsAcc {
	return &statsAcc{s: Stats{Outcomes: map[string]int{}}, months: map[MonthCount]int{}}
}

func (a *statsAcc) add(c *caseRecord, today day.Day) {
	a.s.Cases++
	a.months[MonthCount{Category: c.Category, Month: c.Received.String()[:7]}]++
	if c.Team.Intake {
		a.s.Intakes++
	}
	if c.Deleted {
		a.s.Deleted++
	}
	if c.Team.Outcome != "" {
		a.s.Outcomes[c.Team.Outcome]++
	}
	if c.Status != "closed" && !c.Deleted && !c.Missing {
		a.s.Open++
	}
	end := today // a case stops its clocks when it is closed or deleted
	if c.Closed != 0 {
		end = c.Closed
	}
	if ack := acknowledged(c); ack != 0 {
		a.ack = append(a.ack, int(ack-c.Received))
		if ack > c.AckDue {
			a.s.MissedAck++
		}
	} else if !c.Deleted && end > c.AckDue {
		a.s.MissedAck++
	}
	if fg := c.Team.FeedbackGiven; fg != 0 {
		a.fbk = append(a.fbk, int(fg-c.Received))
		if fg > c.FeedbackDue {
			a.s.MissedFeedback++
		}
	} else if !c.Deleted && end > c.FeedbackDue {
		a.s.MissedFeedback++
	}
}

// acknowledged is the server day of the case's first verified status change away from received.
func acknowledged(c *caseRecord) day.Day {
	for _, e := range c.Events {
		if e.Type == "status-changed" && e.Value != "received" {
			return e.Day
		}
	}
	return 0
}

func (a *statsAcc) result() *Stats {
	s := a.s
	s.ByMonth = []MonthCount{}
	for k, n := range a.months {
		k.Cases = n
		s.ByMonth = append(s.ByMonth, k)
	}
	sort.Slice(s.ByMonth, func(i, j int) bool {
		x, y := s.ByMonth[i], s.ByMonth[j]
		return x.Month < y.Month || x.Month == y.Month && x.Category < y.Category
	})
	s.Acknowledgment, s.Feedback = summarise(a.ack), summarise(a.fbk)
	return &s
}

func summarise(days []int) Duration {
	if len(days) == 0 {
		return Duration{}
	}
	slices.Sort(days)
	n := len(days)
	med := float64(days[n/2])
	if n%2 == 0 {
		med = float64(days[n/2-1]+days[n/2]) / 2
	}
	return Duration{Cases: n, Median: med, Max: days[n-1]}
}

// WriteCSV writes s as CSV rows "metric,group,month,value" with a header row.
func (s *Stats) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"metric", "group", "month", "value"}, {"cases", "", "", strconv.Itoa(s.Cases)}}
	for _, m := range s.ByMonth {
		rows = append(rows, []string{"cases", m.Category, m.Month, strconv.Itoa(m.Cases)})
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	rows = append(rows,
		[]string{"days_to_acknowledgement_median", "", "", f(s.Acknowledgment.Median)},
		[]string{"days_to_acknowledgement_max", "", "", strconv.Itoa(s.Acknowledgment.Max)},
		[]string{"days_to_feedback_median", "", "", f(s.Feedback.Median)},
		[]string{"days_to_feedback_max", "", "", strconv.Itoa(s.Feedback.Max)},
		[]string{"missed_acknowledgement_deadlines", "", "", strconv.Itoa(s.MissedAck)},
		[]string{"missed_feedback_deadlines", "", "", strconv.Itoa(s.MissedFeedback)},
		[]string{"open", "", "", strconv.Itoa(s.Open)},
		[]string{"deleted", "", "", strconv.Itoa(s.Deleted)},
		[]string{"oral_reports", "", "", strconv.Itoa(s.Intakes)})
	outcomes := make([]string, 0, len(s.Outcomes))
	for o := range s.Outcomes {
		outcomes = append(outcomes, o)
	}
	slices.Sort(outcomes)
	for _, o := range outcomes {
		rows = append(rows, []string{"outcome", o, "", strconv.Itoa(s.Outcomes[o])})
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// WriteText writes s for a person.
func (s *Stats) WriteText(w io.Writer) {
	fmt.Fprintf(w, "cases: %d (open %d, deleted %d, oral reports %d)\n", s.Cases, s.Open, s.Deleted, s.Intakes)
	for _, m := range s.ByMonth {
		fmt.Fprintf(w, "  %s  %-24s %d\n", m.Month, clean(m.Category), m.Cases)
	}
	fmt.Fprintf(w, "days to acknowledgement: median %g, max %d (%d cases)\n", s.Acknowledgment.Median, s.Acknowledgment.Max, s.Acknowledgment.Cases)
	fmt.Fprintf(w, "days to feedback: median %g, max %d (%d cases)\n", s.Feedback.Median, s.Feedback.Max, s.Feedback.Cases)
	fmt.Fprintf(w, "missed deadlines: acknowledgement %d, feedback %d\n", s.MissedAck, s.MissedFeedback)
	outcomes := make([]string, 0, len(s.Outcomes))
	for o := range s.Outcomes {
		outcomes = append(outcomes, o)
	}
	slices.Sort(outcomes)
	for _, o := range outcomes {
		fmt.Fprintf(w, "outcome %s: %d\n", o, s.Outcomes[o])
	}
}
