package envelope

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const ageFile = AgeMagic + "-> mlkem768x25519 AAAA\nBBBB\n--- CCCC\n\x01\x02\x03"

var commitment = [32]byte{0xc0, 0x33, 1, 2, 3}

func share(t testing.TB) []byte {
	t.Helper()
	b, err := (&ShareBody{Salt: [32]byte{4, 2}, Blobs: []Rewrapped{
		{Blob: [16]byte{1}, Header: []byte(AgeMagic + "-> a\nb\n--- c\n")},
		{Blob: [16]byte{2}, Header: []byte(AgeMagic + "-> d\ne\n--- f\n")},
	}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func intake(t testing.TB) []byte {
	t.Helper()
	b, err := (&IntakeBody{Category: "Betrug & Korruption", Lookup: [32]byte{9, 9}, Salt: [32]byte{5}, Reporter: "age1pq1reporter",
		Reviewers: []string{"aaaa-bbbb", fp}, Transcript: []byte(ageFile)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// teamVectors are one envelope of every version 2 kind and field (unsigned; vectors signs them).
func teamVectors(t testing.TB) []*Envelope {
	return []*Envelope{
		{Kind: KindStatus, Reviewer: fp, Seq: 6, Case: caseID, Day: 20783, Status: StatusClosed, Outcome: OutcomeNoAction},
		{Kind: KindReply, Reviewer: fp, Seq: 7, Case: caseID, Day: 20783, Feedback: true, Body: []byte(ageFile)},
		{Kind: KindNote, Reviewer: fp, Seq: 8, Case: caseID, Day: 20783, Body: []byte(ageFile)},
		{Kind: KindAssign, Reviewer: fp, Seq: 9, Case: caseID, Day: 20783, Target: fp},
		{Kind: KindAssign, Reviewer: fp, Seq: 10, Case: caseID, Day: 20783},
		{Kind: KindShare, Reviewer: fp, Seq: 11, Case: caseID, Day: 20784, Target: "zzzz-yyyy", Commitment: commitment, Body: share(t)},
		{Kind: KindDelete, Reviewer: fp, Seq: 12, Case: caseID, Day: 20784, Body: []byte(ageFile)},
		{Kind: KindIntake, Reviewer: fp, Seq: 13, Case: [16]byte{7}, Day: 20784, Commitment: commitment, Body: intake(t)},
	}
}

func TestTeamKindNames(t *testing.T) {
	want := []string{"note", "assign", "share", "delete", "intake"}
	for i, k := range []Kind{KindNote, KindAssign, KindShare, KindDelete, KindIntake} {
		if k.String() != want[i] {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k, want[i])
		}
	}
	if Kind(10).String() != "kind(10)" {
		t.Errorf("Kind(10).String() = %q", Kind(10))
	}
}

func TestTeamInvalid(t *testing.T) {
	tests := []struct {
		name string
		e    Envelope
	}{
		{"note without body", Envelope{Kind: KindNote}},
		{"note not age", Envelope{Kind: KindNote, Body: []byte("plain note")}},
		{"delete without reason", Envelope{Kind: KindDelete}},
		{"assign with body", Envelope{Kind: KindAssign, Target: fp, Body: []byte(ageFile)}},
		{"assign with space", Envelope{Kind: KindAssign, Target: "a b"}},
		{"assign too long", Envelope{Kind: KindAssign, Target: strings.Repeat("a", 65)}},
		{"share without target", Envelope{Kind: KindShare, Commitment: commitment, Body: share(t)}},
		{"share without commitment", Envelope{Kind: KindShare, Target: fp, Body: share(t)}},
		{"share with age body", Envelope{Kind: KindShare, Target: fp, Commitment: commitment, Body: []byte(ageFile)}},
		{"feedback on note", Envelope{Kind: KindNote, Feedback: true, Body: []byte(ageFile)}},
		{"target on note", Envelope{Kind: KindNote, Target: fp, Body: []byte(ageFile)}},
		{"commitment on assign", Envelope{Kind: KindAssign, Commitment: commitment}},
		{"outcome on reply", Envelope{Kind: KindReply, Outcome: OutcomeReferred, Body: []byte(ageFile)}},
		{"intake with age body", Envelope{Kind: KindIntake, Commitment: commitment, Body: []byte(ageFile)}},
		{"intake without commitment", Envelope{Kind: KindIntake, Body: intake(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.Reviewer, e.Seq, e.Case, e.Sig = fp, 1, caseID, []byte{1}
			if _, err := e.Marshal(); !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestCheckOutcome(t *testing.T) {
	for _, o := range Outcomes() {
		if err := CheckOutcome(o); err != nil {
			t.Errorf("CheckOutcome(%q): %v", o, err)
		}
	}
	if err := CheckOutcome(""); !errors.Is(err, ErrNoOutcome) {
		t.Errorf("CheckOutcome(\"\"): got %v, want ErrNoOutcome", err)
	}
	err := CheckOutcome("SECRET-dismissed-" + strings.Repeat("x", 100))
	if !errors.Is(err, ErrUnknownOutcome) || len(err.Error()) > 160 ||
		!strings.Contains(err.Error(), "substantiated, unsubstantiated, referred, no-action, withdrawn") {
		t.Errorf("CheckOutcome(long word): %v", err)
	}
}

func TestShareBodyRejects(t *testing.T) {
	good := share(t)
	tests := map[string][]byte{
		"empty":     nil,
		"no blobs":  append(make([]byte, 31), 1, 0, 0),
		"no salt":   append(make([]byte, 32), good[32:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
		"unsorted": func() []byte {
			b2 := bytes.Clone(good)
			b2[32+2] = 2 // the first blob ID becomes the second's
			return b2
		}(),
		"header not age": func() []byte {
			b := bytes.Clone(good)
			b[32+2+16+4] = 'x'
			return b
		}(),
	}
	for name, in := range tests {
		if _, err := ParseShareBody(in); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := (&ShareBody{Salt: [32]byte{1}, Blobs: make([]Rewrapped, MaxShareBlobs+1)}).Marshal(); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many blobs: got %v", err)
	}
}

func TestIntakeBody(t *testing.T) {
	b := intake(t)
	ib, err := ParseIntakeBody(b)
	if err != nil {
		t.Fatal(err)
	}
	if ib.Category != "Betrug & Korruption" || ib.Reviewers[1] != fp || string(ib.Transcript) != ageFile {
		t.Errorf("round trip: %+v", ib)
	}
	bad := []IntakeBody{
		{Lookup: [32]byte{1}, Reporter: "age1", Reviewers: []string{"a"}, Transcript: []byte(ageFile)},
		{Lookup: [32]byte{1}, Salt: [32]byte{1}, Reporter: "age1", Reviewers: []string{"b", "a"}, Transcript: []byte(ageFile)},
		{Lookup: [32]byte{1}, Salt: [32]byte{1}, Reporter: "age1", Reviewers: []string{"a", "a"}, Transcript: []byte(ageFile)},
		{Lookup: [32]byte{1}, Salt: [32]byte{1}, Reporter: "age1", Transcript: []byte(ageFile)},
		{Salt: [32]byte{1}, Reporter: "age1", Reviewers: []string{"a"}, Transcript: []byte(ageFile)},
		{Lookup: [32]byte{1}, Salt: [32]byte{1}, Reviewers: []string{"a"}, Transcript: []byte(ageFile)},
		{Lookup: [32]byte{1}, Salt: [32]byte{1}, Reporter: "age1", Reviewers: []string{"a"}, Transcript: []byte("text")},
		{Category: "a\nb", Lookup: [32]byte{1}, Salt: [32]byte{1}, Reporter: "age1", Reviewers: []string{"a"}, Transcript: []byte(ageFile)},
	}
	for i, ib := range bad {
		if _, err := ib.Marshal(); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad %d: got %v, want ErrInvalid", i, err)
		}
	}
	if _, err := ParseIntakeBody(b[:40]); err == nil {
		t.Errorf("truncated intake body parsed")
	}
}

func FuzzShareBody(f *testing.F) {
	f.Add(share(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseShareBody(b)
		if err != nil {
			return
		}
		out, err := s.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(b)) != b: %v", err)
		}
		s2, err := ParseShareBody(out)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("Parse(Marshal(s)) != s: %v", err)
		}
	})
}

func FuzzIntakeBody(f *testing.F) {
	f.Add(intake(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		ib, err := ParseIntakeBody(b)
		if err != nil {
			return
		}
		out, err := ib.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(b)) != b: %v", err)
		}
		ib2, err := ParseIntakeBody(out)
		if err != nil || !reflect.DeepEqual(ib, ib2) {
			t.Fatalf("Parse(Marshal(ib)) != ib: %v", err)
		}
	})
}
