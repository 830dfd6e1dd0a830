package envelope

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"candor/internal/day"
)

func TestCheckStatus(t *testing.T) {
	for _, s := range Statuses() {
		if err := CheckStatus(s); err != nil {
			t.Errorf("CheckStatus(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "Closed", "in review", "done", strings.Repeat("x", 1000)} {
		err := CheckStatus(s)
		if !errors.Is(err, ErrUnknownStatus) {
			t.Fatalf("CheckStatus(%q): got %v, want ErrUnknownStatus", s, err)
		}
		if !strings.Contains(err.Error(), "received, acknowledged, in-review, closed") || len(err.Error()) > 120 {
			t.Errorf("CheckStatus(%q): %q does not list the valid words briefly", s, err)
		}
	}
	if got := Statuses(); !slices.Equal(got, []string{"received", "acknowledged", "in-review", "closed"}) {
		t.Errorf("Statuses() = %q", got)
	}
}

func TestResolve(t *testing.T) {
	st := func(d day.Day, s string) Change { return Change{Kind: KindStatus, Author: "a", Day: d, Status: s} }
	hold := func(a string, d day.Day, on bool) Change { return Change{Kind: KindHold, Author: a, Day: d, Hold: on} }
	tests := []struct {
		name       string
		changes    []Change
		wantStatus string
		wantHolds  []string
	}{
		{"none", nil, StatusReceived, nil},
		{"in order", []Change{st(1, StatusAcknowledged), st(2, StatusClosed)}, StatusClosed, nil},
		{"older pushed later loses", []Change{st(5, StatusClosed), st(3, StatusInReview)}, StatusClosed, nil},
		{"same day: applied last wins", []Change{st(5, StatusClosed), st(5, StatusInReview)}, StatusInReview, nil},
		{"holds per author", []Change{hold("b", 1, true), hold("a", 2, true), hold("b", 3, false)}, StatusReceived, []string{"a"}},
		{"old release does not lift a newer hold", []Change{hold("a", 4, true), hold("a", 2, false)}, StatusReceived, []string{"a"}},
		{"holds do not affect status", []Change{st(9, StatusClosed), hold("a", 10, true), st(9, StatusInReview)}, StatusInReview, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, holds := Resolve(tt.changes)
			if status != tt.wantStatus || !slices.Equal(holds, tt.wantHolds) {
				t.Errorf("got %q %q, want %q %q", status, holds, tt.wantStatus, tt.wantHolds)
			}
		})
	}
}

// TestResolveAgreesWithTakesEffect checks on random histories that Resolve (linear, used by the
// inbox) leaves in effect exactly what TakesEffect (used by the server as changes arrive) says.
func TestResolveAgreesWithTakesEffect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var changes []Change
		status, held := StatusReceived, map[string]bool{}
		for range rng.IntN(12) {
			c := Change{Kind: KindStatus, Author: string(rune('a' + rng.IntN(3))), Day: day.Day(rng.IntN(5))}
			if rng.IntN(2) == 0 {
				c.Kind, c.Hold = KindHold, rng.IntN(2) == 0
			} else {
				c.Status = Statuses()[rng.IntN(4)]
			}
			if TakesEffect(changes, c) {
				if c.Kind == KindStatus {
					status = c.Status
				} else {
					held[c.Author] = c.Hold
				}
			}
			changes = append(changes, c)
		}
		var holds []string
		for a, on := range held {
			if on {
				holds = append(holds, a)
			}
		}
		slices.Sort(holds)
		gotStatus, gotHolds := Resolve(changes)
		if gotStatus != status || !slices.Equal(gotHolds, holds) {
			t.Fatalf("%+v: Resolve gives %q %q, TakesEffect %q %q", changes, gotStatus, gotHolds, status, holds)
		}
	}
}
