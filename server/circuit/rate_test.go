package circuit

import (
	"testing"

	"candor/internal/day"
)

func TestAssess(t *testing.T) {
	today, err := day.Parse("2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	steady := func(per int, extra map[int]int) map[day.Day]int {
		m := map[day.Day]int{}
		for i := 1; i <= 14; i++ {
			m[today.AddDays(-i)] = per
		}
		for ago, n := range extra {
			m[today.AddDays(-ago)] = n
		}
		return m
	}
	older := map[int]int{}
	for ago := 15; ago <= 40; ago++ {
		older[ago] = 100
	}
	for _, c := range []struct {
		name      string
		counts    map[day.Day]int
		today     int
		threshold int
		unusual   bool
	}{
		{"new installation, a few reports", nil, 9, 10, false},
		{"new installation, a wave", nil, 10, 10, true},
		{"steady 4 a day, 12 today", steady(4, nil), 12, 13, false},
		{"steady 4 a day, 13 today", steady(4, nil), 13, 13, true},
		{"an earlier wave does not raise the baseline", steady(4, map[int]int{2: 500, 3: 600}), 13, 13, true},
		{"days older than the window do not count", steady(0, older), 10, 10, true},
	} {
		counts := map[day.Day]int{}
		for d, n := range c.counts {
			counts[d] = n
		}
		counts[today] = c.today
		s := Detector{}.Assess(today, counts)
		if s.Threshold != c.threshold || s.Unusual != c.unusual || s.Count != c.today || s.Day != today {
			t.Errorf("%s: got %+v, want threshold %d unusual %v", c.name, s, c.threshold, c.unusual)
		}
	}
	s := Detector{Window: 3, Factor: 2, Floor: 1}.Assess(today, map[day.Day]int{
		today.AddDays(-1): 1, today.AddDays(-2): 5, today.AddDays(-3): 3, today: 7})
	if s.Median != 3 || s.Threshold != 7 || !s.Unusual {
		t.Errorf("custom detector: got %+v, want median 3, threshold 7, unusual", s)
	}
}

func TestDayCounts(t *testing.T) {
	d0, _ := day.Parse("2026-12-01")
	c := NewDayCounts(3)
	c.Add(d0)
	c.Add(d0)
	c.Add(d0.AddDays(1))
	c.Set(d0.AddDays(-1), 4)
	if got := c.Snapshot(); got[d0] != 2 || got[d0.AddDays(1)] != 1 || got[d0.AddDays(-1)] != 4 || len(got) != 3 {
		t.Fatalf("Snapshot = %v", got)
	}
	c.Add(d0.AddDays(3)) // keeps d0+1 .. d0+3
	got := c.Snapshot()
	if _, ok := got[d0]; ok || len(got) != 2 {
		t.Fatalf("after three days: Snapshot = %v, want only the last 3 days", got)
	}
}
