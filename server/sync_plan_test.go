package server

import (
	"bytes"
	"io"
	"testing"

	"candor/internal/bundle"
)

// TestPlanBundleIsConsistent checks that a planned bundle is one consistent view: its leaf list
// ends at its checkpoint's size, it describes the case the reviewer is on, and planning writes
// nothing (the log keeps its size).
func TestPlanBundleIsConsistent(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.submit(textPart("message", "x"))
	rs, err := e.st.Reviewers()
	if err != nil || len(rs) == 0 {
		t.Fatalf("reviewers: %v", err)
	}
	size, _ := e.st.LogSize()
	p, err := e.srv.PlanBundle(rs[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := e.st.LogSize(); after != size || p.Checkpoint.Size != size {
		t.Fatalf("log size %d → %d, checkpoint of %d", size, after, p.Checkpoint.Size)
	}
	var buf bytes.Buffer
	if err := e.srv.SendBundle(&buf, p); err != nil {
		t.Fatal(err)
	}
	r := bundle.NewReader(&buf)
	cases := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec := rec.(type) {
		case *bundle.LeafList:
			if end := rec.Start + int64(len(rec.Leaves)); end != size || rec.Start != 0 {
				t.Errorf("leaves %d..%d, want 0..%d", rec.Start, end, size)
			}
		case *bundle.Case:
			cases++
		}
	}
	if cases != 1 {
		t.Errorf("%d cases in the bundle, want 1", cases)
	}
}
