package logentry

import "testing"

func TestCommitment(t *testing.T) {
	created := &Entry{Type: CaseCreated, Subject: [32]byte{1}}
	msg := &Entry{Type: MessageAdded, Subject: [32]byte{2}}
	share := &Entry{Type: CaseShared, Subject: [32]byte{3}}
	forged := &Entry{Type: CaseShared, Subject: [32]byte{4}}
	again := &Entry{Type: CaseCreated, Subject: [32]byte{5}}
	verified := func(e *Entry) bool { return e == share }
	if _, ok := Commitment([]*Entry{msg}, verified); ok {
		t.Fatal("a commitment without a CaseCreated entry or a share")
	}
	for _, tt := range []struct {
		name    string
		entries []*Entry
		want    byte
	}{
		{"created", []*Entry{created, msg}, 1},
		{"shared", []*Entry{created, msg, share}, 3},
		{"an unverified share changes nothing", []*Entry{created, share, forged}, 3},
		{"a second CaseCreated changes nothing", []*Entry{created, again}, 1},
		{"joined through the share", []*Entry{msg, share}, 3},
	} {
		c, ok := Commitment(tt.entries, verified)
		if !ok || c[0] != tt.want {
			t.Errorf("%s: got %x %v, want %d", tt.name, c[:1], ok, tt.want)
		}
	}
}
