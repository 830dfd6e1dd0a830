package cases

import (
	"slices"
	"testing"

	"candor/internal/day"
	"candor/internal/envelope"
	"candor/server/store"
)

// TestSignOrder: every status and hold envelope is kept with the case; it takes effect unless a
// change of the same kind (and, for holds, author) already applied was signed on a later day.
func TestSignOrder(t *testing.T) {
	c := &store.Case{Status: envelope.StatusReceived}
	env := func(kind envelope.Kind, fp string, seq uint64, d day.Day, status string, hold bool) *envelope.Envelope {
		return &envelope.Envelope{Kind: kind, Reviewer: fp, Seq: seq, Day: d, Status: status, Hold: hold, Sig: []byte{byte(seq)}}
	}
	steps := []struct {
		name string
		e    *envelope.Envelope
		want bool
	}{
		{"first status", env(envelope.KindStatus, "a", 1, 100, envelope.StatusInReview, false), true},
		{"same day, applied later", env(envelope.KindStatus, "b", 1, 100, envelope.StatusClosed, false), true},
		{"signed a day earlier", env(envelope.KindStatus, "c", 9, 99, envelope.StatusAcknowledged, false), false},
		{"hold of a", env(envelope.KindHold, "a", 2, 101, "", true), true},
		{"older hold of b: other author", env(envelope.KindHold, "b", 2, 50, "", true), true},
		{"older release of a", env(envelope.KindHold, "a", 3, 100, "", false), false},
		{"later status", env(envelope.KindStatus, "c", 10, 101, envelope.StatusInReview, false), true},
	}
	for i, s := range steps {
		if got := sign(c, s.e.Reviewer, s.e); got != s.want {
			t.Errorf("%s: takes effect %v, want %v", s.name, got, s.want)
		}
		if len(c.Signed) != i+1 {
			t.Fatalf("%s: %d signed changes kept, want %d", s.name, len(c.Signed), i+1)
		}
		last := c.Signed[i]
		if last.Author != s.e.Reviewer || last.Seq != s.e.Seq || last.Day != s.e.Day || last.Status != s.e.Status ||
			last.Hold != s.e.Hold || !slices.Equal(last.Sig, s.e.Sig) {
			t.Errorf("%s: kept %+v", s.name, last)
		}
		if wantKind := map[envelope.Kind]string{envelope.KindStatus: store.ChangeStatus, envelope.KindHold: store.ChangeHold}[s.e.Kind]; last.Kind != wantKind {
			t.Errorf("%s: kind %q, want %q", s.name, last.Kind, wantKind)
		}
	}
}
