// Package day is Candor's only notion of a date: a count of UTC days since 1970-01-01.
//
// Candor stores and transmits dates with day granularity (never seconds), so that timestamps
// cannot be correlated with network activity. Every stored or transmitted date is a Day.
package day

import (
	"fmt"
	"time"
)

// Day is a number of UTC days since 1970-01-01. The zero Day is 1970-01-01 and is used as
// "not set" by callers that need one.
type Day int32

// FromTime returns the UTC day t falls on.
func FromTime(t time.Time) Day {
	u := t.UTC()
	d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return Day(d.Unix() / 86400)
}

// Time returns midnight UTC of d.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats d as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// AddDays returns d plus n days.
func (d Day) AddDays(n int) Day { return d + Day(n) }

// AddMonths returns the same day of the month n months later, normalised as time.AddDate does
// (2026-01-31 plus one month is 2026-03-03).
func (d Day) AddMonths(n int) Day { return FromTime(d.Time().AddDate(0, n, 0)) }

// Parse reads a YYYY-MM-DD date.
func Parse(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("day: invalid date %q (want YYYY-MM-DD)", s)
	}
	return FromTime(t), nil
}
