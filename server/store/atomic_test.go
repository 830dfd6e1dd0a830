package store

import (
	"errors"
	"reflect"
	"testing"
)

// TestAtomicAllOrNothing: changes made in one Atomic call are stored together, or not at all when
// a later step fails.
func TestAtomicAllOrNothing(t *testing.T) {
	s := openTest(t)
	c := createCase(t, s, 1, []byte("header"), payload(1, 100))
	if err := s.PutMeta("x", nil); err != nil {
		t.Fatal(err)
	}
	blob := writeBlob(t, s, []byte("reply header"), payload(2, 300), 100)
	before := keyCounts(t, s)
	size, _ := s.LogSize()
	boom := errors.New("storage failed half-way")
	err := s.Atomic(func(tx *Tx) error {
		if _, err := tx.AddMessage(c.ID, Message{Blob: blob, Kind: KindReply, Author: "r"}, [][]byte{[]byte("e1")}); err != nil {
			return err
		}
		if _, err := tx.UpdateCase(c.ID, func(c *Case) error { c.Status = "closed"; return nil }, [][]byte{[]byte("e2")}); err != nil {
			return err
		}
		if got, err := tx.Case(c.ID); err != nil || got.Status != "closed" || len(got.Messages) != 2 {
			t.Errorf("inside the transaction: %+v, %v", got, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Atomic: %v", err)
	}
	after := keyCounts(t, s) // the reply's blob, written before, stays pending for its writer to abort
	if !reflect.DeepEqual(before, after) {
		t.Errorf("a failed Atomic changed the store: %v → %v", before, after)
	}
	if n, _ := s.LogSize(); n != size {
		t.Errorf("log grew from %d to %d", size, n)
	}
	got, _ := s.Case(c.ID)
	if got.Status == "closed" || len(got.Messages) != 1 {
		t.Errorf("case changed: %+v", got)
	}
	// The same steps without the failure are stored together.
	err = s.Atomic(func(tx *Tx) error {
		if _, err := tx.AddMessage(c.ID, Message{Blob: blob, Kind: KindReply, Author: "r"}, [][]byte{[]byte("e1")}); err != nil {
			return err
		}
		_, err := tx.UpdateCase(c.ID, func(c *Case) error { c.Status = "closed"; return nil }, [][]byte{[]byte("e2")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Case(c.ID); got.Status != "closed" || len(got.Messages) != 2 {
		t.Errorf("after a successful Atomic: %+v", got)
	}
	if n, _ := s.LogSize(); n != size+2 {
		t.Errorf("log size %d, want %d", n, size+2)
	}
	checkInvariants(t, s)
}
