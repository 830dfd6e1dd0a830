package logentry

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func testEpoch() *Epoch {
	return &Epoch{Epoch: 2, Previous: "candor.invalid/abc/epoch-1", Witnessed: 9,
		Backup: "candor.invalid/abc/epoch-1", Restored: 6, Lost: 3, Note: []byte("note\n\n— x AAAA\n")}
}

func TestEpochRoundTrip(t *testing.T) {
	for _, e := range []*Epoch{testEpoch(), {Epoch: 3, Previous: "o/epoch-2", Witnessed: 4, Backup: "o/epoch-1", Restored: 8, Lost: 4}} {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseEpoch(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("got %+v, want %+v", got, e)
		}
		if !IsEpoch(b) {
			t.Fatal("IsEpoch false")
		}
	}
}

func TestEpochInvalid(t *testing.T) {
	for name, mut := range map[string]func(*Epoch){
		"epoch 1":       func(e *Epoch) { e.Epoch = 1 },
		"wrong loss":    func(e *Epoch) { e.Lost = 2 },
		"no origin":     func(e *Epoch) { e.Previous = "" },
		"space":         func(e *Epoch) { e.Backup = "a b" },
		"negative size": func(e *Epoch) { e.Restored, e.Lost = -1, 10 },
		"huge note":     func(e *Epoch) { e.Note = make([]byte, MaxEpochNote+1) },
	} {
		e := testEpoch()
		mut(e)
		if _, err := e.Marshal(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	good, _ := testEpoch().Marshal()
	for name, b := range map[string][]byte{
		"not an epoch":  []byte("candor-log-entry"),
		"no blank line": good[:bytes.Index(good, []byte("\n\n"))],
		"leading zero":  bytes.Replace(good, []byte("restored 6"), []byte("restored 06"), 1),
		"extra line":    bytes.Replace(good, []byte("lost 3\n"), []byte("lost 3\nx 1\n"), 1),
		"renamed line":  bytes.Replace(good, []byte("backup "), []byte("bakup "), 1),
	} {
		if _, err := ParseEpoch(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func FuzzParseEpoch(f *testing.F) {
	b, _ := testEpoch().Marshal()
	f.Add(b)
	f.Add([]byte("candor-epoch/v1\nepoch 2\nprevious a\nwitnessed 0\nbackup a\nrestored 0\nlost 0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEpoch(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		got, err := e.Marshal()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip: %v\n%q\n%q", err, got, b)
		}
	})
}
