package logentry

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func entries() []*Entry {
	c := [16]byte{0xca, 0x5e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	return []*Entry{
		{Version: 1, Type: CaseCreated, Day: 20780, Case: c, Actor: "reporter", Subject: sha256.Sum256([]byte("age header"))},
		{Version: 1, Type: StatusChanged, Day: 20781, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Value: "in-review"},
		{Version: 1, Type: HoldChanged, Day: 20781, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Value: "on"},
		{Version: 1, Type: CaseDeleted, Day: 21200, Case: c, Actor: "server", Value: "retention"},
		{Version: 1, Type: ReviewerAdded, Day: 20700, Actor: "admin", Subject: sha256.Sum256([]byte("card"))},
		{Version: 1, Type: RestoreDone, Day: -1, Actor: "admin"},
		{Version: 1, Type: NoteAdded, Day: 20782, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Subject: sha256.Sum256([]byte("note header"))},
		{Version: 1, Type: Assigned, Day: 20782, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Value: "abcd-efgh-ijkl-mnop-qrst-uvwx"},
		{Version: 1, Type: CaseShared, Day: 20783, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Subject: sha256.Sum256([]byte("set")), Value: "zzzz-efgh-ijkl-mnop-qrst-uvwx"},
		{Version: 1, Type: OutcomeRecorded, Day: 20790, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Value: "no-action"},
		{Version: 1, Type: ReplyAdded, Day: 20790, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Value: ValueFeedback},
	}
}

func TestTeamTypeNames(t *testing.T) {
	for typ, want := range map[Type]string{NoteAdded: "note-added", Assigned: "assigned", CaseShared: "case-shared",
		OutcomeRecorded: "outcome-recorded", TokenIssued: "token-issued", 17: "type(17)"} {
		if typ.String() != want {
			t.Errorf("Type(%d).String() = %q, want %q", typ, typ, want)
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range entries() {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%v: %v", e.Type, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("got %+v, want %+v", got, e)
		}
		h, err := e.Hash()
		if err != nil || h != tlog.RecordHash(b) {
			t.Errorf("%v: Hash = %v, %v; want RecordHash of the encoding", e.Type, h, err)
		}
	}
	e := entries()[0]
	e.Version = 0
	if b, err := e.Marshal(); err != nil || b[len(entryMagic)] != Version {
		t.Errorf("Version 0 must encode as %d: %v", Version, err)
	}
}

// TestEntryVector pins the encoding: changing it would break every existing log.
func TestEntryVector(t *testing.T) {
	e := &Entry{Type: StatusChanged, Day: 0x5158, Actor: "admin", Value: "closed"}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "candor-log-entry\x01\x04\x00\x00\x51\x58" + strings.Repeat("\x00", 16) + "\x05admin" +
		strings.Repeat("\x00", 32) + "\x06closed"
	if string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestEntryRejects(t *testing.T) {
	good, _ := entries()[1].Marshal()
	set := func(i int, c byte) []byte { b := bytes.Clone(good); b[i] = c; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrVersion},
		{"magic", []byte("candor-log-entrx\x01"), ErrVersion},
		{"version 2", set(16, 2), ErrVersion},
		{"type 0", set(17, 0), ErrMalformed},
		{"type 17", set(17, 17), ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing", append(bytes.Clone(good), 'x'), ErrMalformed},
		{"actor len 0", set(17+1+4+16, 0), ErrMalformed},
		{"space in actor", set(17+1+4+16+1, ' '), ErrMalformed},
		{"control in value", set(len(good)-1, '\n'), ErrMalformed},
		{"value len 33", append(append(bytes.Clone(good[:len(good)-10]), 33), strings.Repeat("a", 33)...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	for _, e := range []*Entry{
		{Type: 0, Actor: "admin"}, {Type: 17, Actor: "admin"}, {Type: CaseCreated},
		{Type: CaseCreated, Actor: strings.Repeat("a", 65)}, {Type: CaseCreated, Actor: "a", Value: strings.Repeat("v", 33)},
		{Type: CaseCreated, Actor: "a", Value: "é"}, {Version: 2, Type: CaseCreated, Actor: "a"},
	} {
		if _, err := e.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) succeeded", e)
		}
		if _, err := e.Hash(); err == nil {
			t.Errorf("Hash(%+v) succeeded", e)
		}
	}
}

func FuzzLogEntry(f *testing.F) {
	for _, e := range entries() {
		b, _ := e.Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		out, err := e.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(b)) != b: %v", err)
		}
		if e2, err := Parse(out); err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("Parse(Marshal(e)) != e: %v", err)
		}
	})
}
