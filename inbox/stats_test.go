package inbox

import (
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
)

// statsInbox is an inbox (no keys needed) holding the given case records.
func statsInbox(t testing.TB, today day.Day, recs []caseRecord) *Inbox {
	t.Helper()
	cfg := Config{Home: t.TempDir(), WorkFactor: 10, Now: today.Time,
		Passphrase: func() ([]byte, error) { return []byte("correct horse battery staple"), nil }}
	if _, err := Init(cfg, "Stats", []byte("correct horse battery staple")); err != nil {
		t.Fatal(err)
	}
	in, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	err = in.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCases)
		for i := range recs {
			if err := putJSON(b, []byte(fmt.Sprintf("%016d", i)), &recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func mustParse(t testing.TB, s string) day.Day {
	d, err := day.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// record is a case received on rcv, acknowledged ack days later (-1: never), with feedback fb
// days after receipt (-1: none), closed with outcome (if any) cl days after receipt.
func record(rcv day.Day, cat string, ack, fb, cl int, outcome string) caseRecord {
	c := caseRecord{Category: cat, Received: rcv, AckDue: rcv + 7, FeedbackDue: rcv + 97, Status: "received"}
	if ack >= 0 {
		c.Status = "in-review"
		c.Events = []Event{{Type: "case-created", Day: rcv}, {Type: "status-changed", Day: rcv + day.Day(ack), Value: "acknowledged"}}
	}
	if fb >= 0 {
		c.Team.FeedbackGiven = rcv + day.Day(fb)
	}
	if cl >= 0 {
		c.Status, c.Closed, c.Team.Outcome = "closed", rcv+day.Day(cl), outcome
	}
	return c
}

func TestStatsFigures(t *testing.T) {
	jan, feb := mustParse(t, "2026-01-10"), mustParse(t, "2026-02-03")
	today := mustParse(t, "2026-09-01")
	in := statsInbox(t, today, []caseRecord{
		record(jan, "general", 2, 30, 40, "substantiated"),
		record(jan, "fraud", 9, 100, 120, "referred"), // both deadlines missed
		record(feb, "fraud", 4, 60, -1, ""),
		record(feb, "fraud", -1, -1, -1, ""), // never acknowledged, no feedback: both missed
	})
	s, err := in.Stats(StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Cases != 4 || s.Open != 2 || s.MissedAck != 2 || s.MissedFeedback != 2 {
		t.Errorf("got cases %d open %d missed ack %d feedback %d, want 4 2 2 2", s.Cases, s.Open, s.MissedAck, s.MissedFeedback)
	}
	if s.Acknowledgment != (Duration{Cases: 3, Median: 4, Max: 9}) {
		t.Errorf("acknowledgement: got %+v", s.Acknowledgment)
	}
	if s.Feedback != (Duration{Cases: 3, Median: 60, Max: 100}) {
		t.Errorf("feedback: got %+v", s.Feedback)
	}
	if s.Outcomes["substantiated"] != 1 || s.Outcomes["referred"] != 1 || len(s.Outcomes) != 2 {
		t.Errorf("outcomes: got %v", s.Outcomes)
	}
	want := []MonthCount{{"fraud", "2026-01", 1}, {"general", "2026-01", 1}, {"fraud", "2026-02", 2}}
	if fmt.Sprint(s.ByMonth) != fmt.Sprint(want) {
		t.Errorf("by month: got %v, want %v", s.ByMonth, want)
	}
	s, err = in.Stats(StatsOptions{From: feb})
	if err != nil || s.Cases != 2 {
		t.Errorf("from February: got %d cases (%v), want 2", s.Cases, err)
	}
}

// BenchmarkStats10k: stats over 10,000 cases, each with a few events and signed changes.
func BenchmarkStats10k(b *testing.B) {
	start := mustParse(b, "2025-01-01")
	recs := make([]caseRecord, 10000)
	cats := []string{"general", "fraud", "safety", "data"}
	for i := range recs {
		recs[i] = record(start+day.Day(i%365), cats[i%4], i%12, 20+i%90, 30+i%150, "no-action")
		recs[i].Team.Signed = []signedChange{{Kind: "status", Author: "abcd-efgh-ijkl-mnop-qrst-uvwx", Seq: uint64(i), Day: start, Value: "acknowledged"}}
		recs[i].Blobs = []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}
	}
	in := statsInbox(b, mustParse(b, "2026-06-01"), recs)
	b.ReportAllocs()
	for b.Loop() {
		s, err := in.Stats(StatsOptions{})
		if err != nil || s.Cases != 10000 {
			b.Fatalf("got %d cases, %v", s.Cases, err)
		}
	}
}
