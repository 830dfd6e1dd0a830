package envelope

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"candor/internal/day"
)

// This file owns two rules that the server and every inbox must apply alike: the case-status
// words, and "the latest signed change wins".

// Case statuses accepted in a KindStatus envelope, in workflow order.
const (
	StatusReceived     = "received"
	StatusAcknowledged = "acknowledged"
	StatusInReview     = "in-review"
	StatusClosed       = "closed"
)

// ErrUnknownStatus: a word that is not a case status.
var ErrUnknownStatus = errors.New("unknown status")

// Statuses returns the case statuses in workflow order (a new slice each call).
func Statuses() []string {
	return []string{StatusReceived, StatusAcknowledged, StatusInReview, StatusClosed}
}

// ValidStatus reports whether s is one of the four case statuses.
func ValidStatus(s string) bool { return slices.Contains(Statuses(), s) }

// CheckStatus returns nil if s is a case status, and otherwise an error wrapping ErrUnknownStatus
// that names s (cut to 32 bytes) and lists the valid words.
func CheckStatus(s string) error {
	if ValidStatus(s) {
		return nil
	}
	return fmt.Errorf("%w %.32q: want one of %s", ErrUnknownStatus, s, strings.Join(Statuses(), ", "))
}

// Change is what the "latest signed change wins" rule looks at in a reviewer's signed status
// change or hold of a case.
type Change struct {
	Kind   Kind    // KindStatus or KindHold; other kinds are ignored
	Author string  // the signer's fingerprint
	Day    day.Day // the day the reviewer signed it
	Status string  // KindStatus: the new status
	Hold   bool    // KindHold: placed (true) or lifted (false)
}

// rival reports whether a and b compete: both status changes (of the case), or both holds of
// one author.
func rival(a, b Change) bool {
	return a.Kind == b.Kind && (a.Kind == KindStatus || a.Kind == KindHold && a.Author == b.Author)
}

// TakesEffect reports whether next, applied after the case's earlier changes applied (in the
// order they were applied), is in effect: the latest change is the one signed on the latest day,
// and among changes of one day the one applied last. A change signed on an earlier day than a
// rival applied before it is kept as evidence but does not take effect.
func TakesEffect(applied []Change, next Change) bool {
	for _, o := range applied {
		if rival(o, next) && o.Day > next.Day {
			return false
		}
	}
	return true
}

// Resolve returns what the changes of one case, in the order they were applied, leave in effect
// under the same rule as TakesEffect: the status ("received" without any status change) and the
// fingerprints of the reviewers holding the case, sorted. It runs in linear time: a change takes
// effect exactly when it is signed no earlier than the latest day among its earlier rivals.
func Resolve(changes []Change) (status string, holds []string) {
	type winner struct {
		day day.Day
		on  bool
	}
	var st *winner
	status = StatusReceived
	held := map[string]*winner{}
	for _, c := range changes {
		switch c.Kind {
		case KindStatus:
			if st == nil || c.Day >= st.day {
				st, status = &winner{day: c.Day}, c.Status
			}
		case KindHold:
			if w := held[c.Author]; w == nil || c.Day >= w.day {
				held[c.Author] = &winner{day: c.Day, on: c.Hold}
			}
		}
	}
	for a, w := range held {
		if w.on {
			holds = append(holds, a)
		}
	}
	slices.Sort(holds)
	return status, holds
}
