package circuit

import (
	"math"
	"slices"
	"sync"

	"candor/internal/day"
)

// The submission-rate signal is content-free: it sees only how many reports arrived on each UTC day
// (the day a case is received is stored in clear anyway), never which circuit, reporter, category or
// reviewer. `candor status` and the notifier use it so that reviewers see a spam wave and triage it
// (the team's signed delete), instead of discovering it case by case.

// Detector decides whether a day's submission count is unusual compared with the days before it.
// The zero value uses the defaults below.
type Detector struct {
	// Window is how many previous days form the baseline (default 14: two weeks smooth out weekdays
	// and a single busy day).
	Window int
	// Factor: a day is unusual when its count exceeds Factor times the baseline's median (default 3).
	// The median, not the mean, so that one earlier wave does not raise the baseline and hide the next.
	Factor float64
	// Floor is the least count that can be unusual (default 10): a reporting channel gets a handful of
	// reports a week, and a few in one day is not worth an alert.
	Floor int
}

// Signal is the detector's reading of one day.
type Signal struct {
	Day       day.Day
	Count     int     // submissions on Day (so far, for today)
	Median    float64 // median count of the Window days before Day (missing days count 0)
	Threshold int     // the least count that is unusual on Day
	Unusual   bool    // Count ≥ Threshold
}

func (d Detector) withDefaults() Detector {
	if d.Window <= 0 {
		d.Window = 14
	}
	if d.Factor <= 0 {
		d.Factor = 3
	}
	if d.Floor <= 0 {
		d.Floor = 10
	}
	return d
}

// Assess reads the count of day on from counts (submissions per day; days missing count 0).
// The threshold is max(Floor, ⌊Factor·median⌋ + 1) over the Window days before on. Today's count is
// partial, so a wave is reported as soon as it passes the threshold, not at the end of the day.
func (d Detector) Assess(on day.Day, counts map[day.Day]int) Signal {
	d = d.withDefaults()
	hist := make([]int, d.Window)
	for i := range hist {
		hist[i] = counts[on.AddDays(-1-i)]
	}
	m := median(hist)
	thr := max(d.Floor, int(math.Floor(d.Factor*m))+1)
	c := counts[on]
	return Signal{Day: on, Count: c, Median: m, Threshold: thr, Unusual: c >= thr}
}

func median(xs []int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}

// DayCounts counts submissions per day in memory, keeping only the last keep days: a running server's
// source for Detector.Assess between reads of the store. Safe for concurrent use.
type DayCounts struct {
	mu     sync.Mutex
	keep   int
	counts map[day.Day]int
}

// NewDayCounts returns an empty counter that keeps keep days (at least Detector.Window + 1 are needed).
func NewDayCounts(keep int) *DayCounts {
	return &DayCounts{keep: max(keep, 1), counts: map[day.Day]int{}}
}

// Add counts one submission on d and forgets days older than keep days before d.
func (c *DayCounts) Add(d day.Day) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[d]++
	for old := range c.counts {
		if old <= d.AddDays(-c.keep) {
			delete(c.counts, old)
		}
	}
}

// Set replaces the count of day d (for seeding from the store at start).
func (c *DayCounts) Set(d day.Day, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[d] = n
}

// Snapshot returns a copy of the counts.
func (c *DayCounts) Snapshot() map[day.Day]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[day.Day]int, len(c.counts))
	for d, n := range c.counts {
		out[d] = n
	}
	return out
}
