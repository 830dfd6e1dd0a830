package server

import (
	"candor/internal/day"
	"candor/server/circuit"
	"candor/server/store"
)

// The submission-rate signal: how many reports arrived on each UTC day, nothing else. Seeded from
// the days the store's cases were received (stored in clear anyway) and counted on as cases are
// created, so that a wave later deleted by the reviewers still shows in the baseline of the
// following days while the server runs.

// rateDays is how many days of counts are kept: the detector's window and today.
const rateDays = 15

// seedDayCounts counts the store's cases per day received over the last rateDays days.
func seedDayCounts(st *store.Store) (*circuit.DayCounts, error) {
	dc := circuit.NewDayCounts(rateDays)
	counts := map[day.Day]int{}
	err := st.Cases(func(c *store.Case) error {
		counts[c.Received]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	var last day.Day
	for d := range counts {
		last = max(last, d)
	}
	for d, n := range counts {
		if d > last.AddDays(-rateDays) {
			dc.Set(d, n)
		}
	}
	return dc, nil
}

// SubmissionCounts returns the submissions per day the running server has counted (seeded from the
// store at start), for `candor status` and the notifier.
func (s *Server) SubmissionCounts() map[day.Day]int { return s.days.Snapshot() }
