package server

import (
	"bytes"
	"strings"
	"testing"

	"candor/cases"
	"candor/crypto"
	"candor/installation"
	"candor/internal/frame"
	"candor/internal/leaf"
	"candor/internal/logentry"
	"candor/server/store"
)

func TestSubmitAndFollowup(t *testing.T) {
	e := newEnv(t, envOptions{})
	file1 := bytes.Repeat([]byte("evidence "), 20000)
	code := e.submit(textPart("message", "The director took bribes."),
		textPart("reviewer-choice", "1"), textPart("reviewer", e.reviewers[0].fp),
		filePart("minutes.pdf", file1), filePart("b.txt", []byte("second")))
	if _, err := crypto.ParseReceipt(code); err != nil {
		t.Fatalf("receipt code does not parse: %v", err)
	}
	c := e.onlyCase()
	if got, want := c.Reviewers, []string{e.reviewers[0].fp}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("got reviewers %v, want %v", got, want)
	}
	if c.Category != installation.DefaultCategory || c.Status != "received" {
		t.Errorf("got category %q status %q", c.Category, c.Status)
	}
	parts := e.decrypt(c.Messages[0].Blob, e.reviewers[0].id)
	if len(parts) != 3 || parts[0].kind != frame.KindMessage || string(parts[0].body) != "The director took bribes." ||
		parts[1].name != "minutes.pdf" || !bytes.Equal(parts[1].body, file1) || string(parts[2].body) != "second" {
		t.Fatalf("decrypted parts do not match what was sent: %d parts", len(parts))
	}
	// The excluded reviewer cannot decrypt.
	b, _ := e.st.OpenBlob(c.Messages[0].Blob)
	if _, err := crypto.Open(b.Header, b, e.reviewers[1].id); err == nil {
		t.Fatal("the excluded reviewer's identity opened the report")
	}
	// The log entry.
	le, err := e.st.LogEntry(c.LogIndices[0])
	if err != nil {
		t.Fatal(err)
	}
	entry, err := logentry.Parse(le)
	if err != nil || entry.Type != logentry.CaseCreated || entry.Value != cases.LookupValue(cases.LookupSubject(c.Lookup)) || entry.Case != c.ID {
		t.Fatalf("got log entry %+v (%v), want CaseCreated of the case with the lookup value", entry, err)
	}
	// Its subject commits to the reporter's recipient and the reviewers, under the case's salt.
	set := leaf.RecipientSet{Reporter: c.ReporterRecipient, Reviewers: c.Reviewers}
	if err := set.Check(&c.Salt, entry.Subject); err != nil {
		t.Fatalf("the CaseCreated entry does not commit to the case's recipients: %v", err)
	}

	cl := e.login(code)
	resp, page := e.get(cl, "/followup")
	if resp.StatusCode != 200 || !strings.Contains(page, "recorded in a log that the reviewers and independent witnesses check") {
		t.Fatalf("case page: status %d\n%s", resp.StatusCode, page)
	}
	// A follow-up message.
	body, ct := multipartBody(textPart("message", "More detail."), filePart("c.txt", []byte("third")))
	resp, _ = e.post(cl, "/followup/message", ct, bytes.NewReader(body))
	if resp.StatusCode != 303 {
		t.Fatalf("follow-up: got status %d, want 303", resp.StatusCode)
	}
	_, page = e.get(cl, "/followup")
	if !strings.Contains(page, "Your message was sent") {
		t.Errorf("case page lacks the sent notice")
	}
	c = e.onlyCase()
	if len(c.Messages) != 2 || c.Messages[1].Kind != store.KindFollowup {
		t.Fatalf("got %d messages, want report + follow-up", len(c.Messages))
	}
	parts = e.decrypt(c.Messages[1].Blob, e.reviewers[0].id)
	if len(parts) != 2 || string(parts[0].body) != "More detail." || string(parts[1].body) != "third" {
		t.Fatalf("follow-up parts wrong")
	}
	// Logout wipes the session.
	resp, _ = e.post(cl, "/logout", "application/x-www-form-urlencoded", strings.NewReader(""))
	if resp.StatusCode != 200 || e.srv.sessions.len() != 0 {
		t.Fatalf("logout: status %d, %d sessions left", resp.StatusCode, e.srv.sessions.len())
	}
}
