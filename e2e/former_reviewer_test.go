package e2e

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"candor/admin"
	"candor/inbox"
	"candor/server/synctest"
)

// TestRemovedReviewerStaysVerifiable: Alice replies, writes a note and acknowledges a case she
// shares with Bob; the admin removes Alice (as `candor reviewer remove` does). Bob's inbox, pulling
// everything from the start for the first time, imports the case and verifies Alice's signed
// reply, note and status change with her card, which the server keeps for that; the reporter's
// page still shows her reply, under her name, with no warning. Alice is no longer a reviewer
// anyone can share a case with.
func TestRemovedReviewerStaysVerifiable(t *testing.T) {
	dir := t.TempDir()
	srv, err := synctest.Start(filepath.Join(dir, "srv"), nil)
	must(t, err)
	defer srv.Close()
	alice, bob := newTeamReviewer(t, srv, dir, "Alice"), newTeamReviewer(t, srv, dir, "Bob")
	code, err := srv.Submit("REPORT-FORMER: the armoury keys are lent out unrecorded", []string{alice.fp, bob.fp})
	must(t, err)
	alice.sync(t, srv)
	cs, err := alice.in.List()
	must(t, err)
	id := cs[0].Case
	must(t, alice.in.Reply(id, "REPLY-FORMER: which shifts?", nil))
	must(t, alice.in.Note(id, "NOTE-FORMER: ask the quartermaster"))
	must(t, alice.in.SetStatus(id, "acknowledged"))
	alice.sync(t, srv)

	a, err := admin.New(admin.Config{Store: srv.Store})
	must(t, err)
	if _, err := a.RemoveReviewer(alice.fp, false); err != nil {
		t.Fatalf("removing Alice: %v", err)
	}

	res := bob.sync(t, srv) // Bob's first import: everything since the start of the log
	if res.Cases != 1 {
		t.Fatalf("Bob's first import carried %d cases, want 1", res.Cases)
	}
	got := bob.read(t, id)
	for _, want := range []string{"REPLY-FORMER", "reply from Alice (" + alice.fp + ")", "signature verified",
		"NOTE-FORMER", "acknowledged"} {
		if !strings.Contains(got, want) {
			t.Errorf("Bob's inbox does not show %q:\n%s", want, got)
		}
	}
	if err := bob.in.Share(id, alice.fp); !errors.Is(err, inbox.ErrNotReviewer) {
		t.Errorf("sharing with the removed Alice: got %v, want ErrNotReviewer", err)
	}

	rep, err := srv.Login(code)
	must(t, err)
	page, err := rep.CasePage()
	must(t, err)
	if !strings.Contains(page, "REPLY-FORMER") || !strings.Contains(page, "Alice") || strings.Contains(page, "Warning: some replies") {
		t.Errorf("the reporter's page lost Alice's reply or warns about it:\n%s", page)
	}
}
