package day

import (
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"1970-01-01", "2026-11-23", "2000-02-29", "2099-12-31"} {
		d, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != s {
			t.Errorf("Parse(%q).String() = %q", s, got)
		}
	}
	if _, err := Parse("2026-13-01"); err == nil {
		t.Error("Parse accepted month 13")
	}
}

func TestFromTimeIgnoresClock(t *testing.T) {
	a := FromTime(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	b := FromTime(time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC))
	if a != b {
		t.Errorf("got %v and %v, want the same day", a, b)
	}
	if got, want := a.AddDays(7).String(), "2026-11-30"; got != want {
		t.Errorf("AddDays(7) = %s, want %s", got, want)
	}
	if got, want := a.AddMonths(3).String(), "2027-02-23"; got != want {
		t.Errorf("AddMonths(3) = %s, want %s", got, want)
	}
}
