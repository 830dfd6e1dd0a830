package server

import (
	"context"
	"testing"
	"time"
)

// TestReceiptsDerivedAhead: with a receipt derived ahead (as candor serve runs), a submission takes
// it and another is derived in the background; every receipt is a different code that logs in to
// its own case; after WipeReceipts none waits, and a submission derives its receipt itself.
func TestReceiptsDerivedAhead(t *testing.T) {
	e := newEnv(t, envOptions{receiptsAhead: 1})
	if err := e.srv.PrepareReceipts(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.ReceiptsReady(); n != 1 {
		t.Fatalf("after PrepareReceipts %d receipts wait, want 1", n)
	}
	codes := map[string]bool{}
	for i, msg := range []string{"first report", "second report"} {
		code := e.submit(textPart("message", msg))
		if codes[code] {
			t.Fatalf("report %d got the receipt of an earlier one", i)
		}
		codes[code] = true
		waitReady(t, e, 1) // the successor is derived in the background
	}
	e.srv.WipeReceipts()
	if n := e.srv.ReceiptsReady(); n != 0 {
		t.Errorf("after WipeReceipts %d receipts wait, want 0", n)
	}
	codes[e.submit(textPart("message", "third report"))] = true // derived on the spot
	if len(codes) != 3 || e.counts().Cases != 3 {
		t.Fatalf("got %d codes and %d cases, want 3 of each", len(codes), e.counts().Cases)
	}
	for code := range codes {
		e.login(code) // each code finds its case
	}
}

// waitReady waits (boundedly) until n receipts are ready.
func waitReady(t *testing.T, e *env, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); e.srv.ReceiptsReady() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d receipts ready after a minute, want %d", e.srv.ReceiptsReady(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
