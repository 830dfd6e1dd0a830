package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestReplySignature: a reply's signature is stored with its message, returned by value, kept by
// other updates, and protected like the rest of Messages.
func TestReplySignature(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("h"), []byte("p"))
	reply := writeBlob(t, s, []byte("h2"), payload(2, 50), 50)
	sig := &Signature{Seq: 7, Day: testDay, Sig: bytes.Repeat([]byte{0xa5}, 3373)}
	m := Message{Blob: reply, Kind: KindReply, Author: "aaaa-bbbb", Day: testDay, Signature: sig}
	if _, err := s.AddMessage(c.ID, m, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCase(c.ID, func(c *Case) error { c.Status = "closed"; return nil }, nil); err != nil {
		t.Fatalf("UpdateCase of a case with a signed reply: %v", err)
	}
	got, err := s.Case(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Messages[1].Signature; !reflect.DeepEqual(g, sig) {
		t.Fatalf("got signature %+v, want %+v", g, sig)
	}
	if got.Messages[0].Signature != nil {
		t.Errorf("got a signature on the report, want none")
	}
	got.Messages[1].Signature.Sig[0] ^= 1 // a returned case shares nothing with the store
	again, _ := s.Case(c.ID)
	if !reflect.DeepEqual(again.Messages[1].Signature, sig) {
		t.Errorf("mutating a returned signature changed the store")
	}
	_, err = s.UpdateCase(c.ID, func(c *Case) error { c.Messages[1].Signature.Sig[0] ^= 1; return nil }, nil)
	mustIs(t, err, ErrImmutable)
	_, err = s.UpdateCase(c.ID, func(c *Case) error { c.Messages[1].Signature = nil; return nil }, nil)
	mustIs(t, err, ErrImmutable)
}

// TestOldCaseRecord: a case record written before messages had signatures still decodes.
func TestOldCaseRecord(t *testing.T) {
	var id CaseID
	id[0] = 1
	old := `{"id":"01000000000000000000000000000000","category":"","received":20000,"acknowledged":0,` +
		`"closed":0,"status":"received","reviewers":["aaaa"],"reporter_recipient":"age1x",` +
		`"lookup":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","holds":null,` +
		`"messages":[{"blob":"02000000000000000000000000000000","kind":"reply","author":"aaaa","day":20001,"size":9}],` +
		`"log_indices":[0]}`
	c, err := decodeCase(id[:], encodeRecord(json.RawMessage(old)))
	if err != nil {
		t.Fatalf("decoding an old record: %v", err)
	}
	if len(c.Messages) != 1 || c.Messages[0].Signature != nil || c.Messages[0].Size != 9 {
		t.Errorf("got messages %+v, want one unsigned reply of 9 bytes", c.Messages)
	}
}

// TestSignedChanges: signed status changes and holds are stored with the case, returned by value,
// may only be appended to, and are absent from old records.
func TestSignedChanges(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("h"), []byte("p"))
	st := SignedChange{Kind: ChangeStatus, Author: "aaaa-bbbb", Seq: 3, Day: testDay, Status: "closed",
		Sig: bytes.Repeat([]byte{0xa5}, 3373)}
	hold := SignedChange{Kind: ChangeHold, Author: "aaaa-bbbb", Seq: 4, Day: testDay, Hold: true, Sig: []byte{1, 2}}
	for _, ch := range []SignedChange{st, hold} {
		if _, err := s.UpdateCase(c.ID, func(c *Case) error { c.Signed = append(c.Signed, ch); return nil }, nil); err != nil {
			t.Fatalf("appending a signed change: %v", err)
		}
	}
	got, err := s.Case(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SignedChange{st, hold}; !reflect.DeepEqual(got.Signed, want) {
		t.Fatalf("got signed changes %+v, want %+v", got.Signed, want)
	}
	got.Signed[0].Sig[0] ^= 1 // a returned case shares nothing with the store
	if again, _ := s.Case(c.ID); !reflect.DeepEqual(again.Signed[0], st) {
		t.Errorf("mutating a returned signed change changed the store")
	}
	tests := []struct {
		name string
		fn   func(*Case)
	}{
		{"signature altered", func(c *Case) { c.Signed[0].Sig[0] ^= 1 }},
		{"status altered", func(c *Case) { c.Signed[0].Status = "in-review" }},
		{"hold lifted in place", func(c *Case) { c.Signed[1].Hold = false }},
		{"dropped", func(c *Case) { c.Signed = c.Signed[1:] }},
		{"emptied", func(c *Case) { c.Signed = nil }},
	}
	for _, tt := range tests {
		_, err := s.UpdateCase(c.ID, func(c *Case) error { tt.fn(c); return nil }, nil)
		if !errors.Is(err, ErrImmutable) {
			t.Errorf("%s: got %v, want ErrImmutable", tt.name, err)
		}
	}
	old := `{"id":"01000000000000000000000000000000","category":"","received":20000,"acknowledged":0,` +
		`"closed":0,"status":"closed","reviewers":["aaaa"],"reporter_recipient":"age1x",` +
		`"lookup":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","holds":["aaaa"],"messages":[],"log_indices":[0]}`
	var id CaseID
	id[0] = 1
	oc, err := decodeCase(id[:], encodeRecord(json.RawMessage(old)))
	if err != nil || oc.Signed != nil || oc.Status != "closed" {
		t.Errorf("decoding an old record: got %+v, %v; want no signed changes", oc, err)
	}
}
