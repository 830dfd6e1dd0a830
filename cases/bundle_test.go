package cases_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"candor/candortest"
	"candor/cases"
	"candor/internal/frame"
	"candor/server/store"
)

// failAfter accepts n bytes and then fails, as a reviewer's connection that drops mid-bundle.
type failAfter struct{ n int }

var errDropped = errors.New("connection dropped")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errDropped
	}
	f.n -= len(p)
	return len(p), nil
}

// TestPlanIsReadOnlySendRecords: planning a bundle writes nothing to the store (a GET is safe); a
// bundle that could not be written whole records nothing; only a bundle written whole records
// the cases it carried as sent.
func TestPlanIsReadOnlySendRecords(t *testing.T) {
	alice := candortest.NewReviewer(t, "Alice")
	st, svc := newService(t, alice)
	msg := "a report"
	f := &cases.Form{Message: &msg, Answers: map[string]string{}}
	if _, err := svc.ChooseCategory(f); err != nil {
		t.Fatal(err)
	}
	fps, recipients, err := svc.ChooseReviewers(f)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := svc.NewSealer(recipients, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sl.Text(frame.KindMessage, "message", msg); err != nil {
		t.Fatal(err)
	}
	sealed, err := sl.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateCase(context.Background(), sealed, "", fps); err != nil {
		t.Fatal(err)
	}
	var id store.CaseID
	if err := st.Cases(func(c *store.Case) error { id = c.ID; return nil }); err != nil {
		t.Fatal(err)
	}
	rv, err := st.Reviewer(alice.FP)
	if err != nil {
		t.Fatal(err)
	}
	known := func() []byte {
		t.Helper()
		b, err := st.Meta(cases.MetaSyncKnown + alice.FP)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return b
	}
	size, _ := st.LogSize()
	p, err := svc.PlanBundle(rv, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := known(); got != nil {
		t.Fatalf("planning a bundle recorded %d bytes of sent cases", len(got))
	}
	if after, _ := st.LogSize(); after != size {
		t.Fatalf("planning a bundle changed the log: %d → %d entries", size, after)
	}
	if err := svc.SendBundle(&failAfter{n: 200}, p); !errors.Is(err, errDropped) {
		t.Fatalf("sending into a dropped connection: got %v, want %v", err, errDropped)
	}
	if got := known(); got != nil {
		t.Fatalf("a bundle cut off after 200 bytes recorded %d bytes of sent cases", len(got))
	}
	p, err = svc.PlanBundle(rv, 0)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := svc.SendBundle(&buf, p); err != nil {
		t.Fatal(err)
	}
	if got := known(); !bytes.Equal(got, id[:]) {
		t.Fatalf("after a whole bundle the sent cases are %x, want %x", got, id[:])
	}
	if buf.Len() == 0 {
		t.Fatal("empty bundle")
	}
}
