package witnessclient

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"candor/internal/checkpoint"
	"candor/internal/testenv"
)

const lwOrigin = "candor.invalid/lwtest/epoch-1"

// litewitnessSetup starts a real litewitness that knows the log's Ed25519 key.
func litewitnessSetup(t testing.TB) (*checkpoint.Signer, Witness, *Client) {
	t.Helper()
	lw := testenv.StartLitewitness(t)
	s := newSigner(t, lwOrigin)
	lw.AddLog(t, lwOrigin, s.Ed25519VerifierKey())
	key, err := checkpoint.NewCosignatureVerifier(lw.VKey)
	if err != nil {
		t.Fatalf("litewitness printed vkey %q: %v", lw.VKey, err)
	}
	return s, Witness{URL: lw.URL, Key: key}, New(Config{Timeout: 10 * time.Second})
}

func TestLitewitnessCosignsAGrowingTree(t *testing.T) {
	s, w, c := litewitnessSetup(t)
	lv, err := checkpoint.NewLogVerifier(s.LogKey())
	if err != nil {
		t.Fatal(err)
	}
	var tree memTree
	old := int64(0)
	for _, size := range []int64{3, 8, 8, 1000} {
		tree.grow(t, "entry ", size)
		msg, prove := tree.sign(t, s)
		res, err := c.AddCheckpoint(context.Background(), w, old, msg, prove)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		v, err := checkpoint.Open(append(msg, res.Lines...), lv, []*checkpoint.CosignatureVerifier{w.Key}, 1)
		if err != nil {
			t.Fatalf("size %d: the cosigned note does not open: %v", size, err)
		}
		if v.Size != size || v.Cosignatures[0].Witness != w.Key.Name() || time.Since(v.Cosignatures[0].Time) > time.Hour {
			t.Errorf("size %d: opened %d with %+v", size, v.Size, v.Cosignatures)
		}
		old = size
	}
	// A client that lost track (old size 0) is told the witness's size and resends from there.
	tree.grow(t, "entry ", 1010)
	msg, prove := tree.sign(t, s)
	res, err := c.AddCheckpoint(context.Background(), w, 0, msg, prove)
	if err != nil {
		t.Fatalf("resend after 409: %v", err)
	}
	if res.OldSize != 1000 {
		t.Errorf("old size %d, want 1000", res.OldSize)
	}
}

func TestLitewitnessRefusesRollbackAndFork(t *testing.T) {
	s, w, c := litewitnessSetup(t)
	var honest memTree
	honest.grow(t, "entry ", 10)
	msg, prove := honest.sign(t, s)
	if _, err := c.AddCheckpoint(context.Background(), w, 0, msg, prove); err != nil {
		t.Fatal(err)
	}

	// Rollback: an older copy of the store (6 of the 10 entries), which thinks 3 were witnessed.
	var older memTree
	older.grow(t, "entry ", 6)
	msg, prove = older.sign(t, s)
	if _, err := c.AddCheckpoint(context.Background(), w, 3, msg, prove); !errors.Is(err, ErrRollback) {
		t.Fatalf("rolled-back tree: got %v, want ErrRollback", err)
	}

	// Fork at the same size: entry 7 rewritten.
	var forked memTree
	forked.grow(t, "entry ", 7)
	forked.add(t, "entry 7, rewritten")
	forked.grow(t, "entry ", 10)
	msg, prove = forked.sign(t, s)
	if _, err := c.AddCheckpoint(context.Background(), w, 5, msg, prove); !errors.Is(err, ErrFork) {
		t.Fatalf("forked tree of the same size: got %v, want ErrFork", err)
	}
	// The fork grown past the witnessed size: the proof from 10 does not match the witness's tree.
	forked.grow(t, "entry ", 12)
	msg, prove = forked.sign(t, s)
	if _, err := c.AddCheckpoint(context.Background(), w, 10, msg, prove); !errors.Is(err, ErrFork) {
		t.Fatalf("grown fork: got %v, want ErrFork", err)
	}

	// The honest log goes on.
	honest.grow(t, "entry ", 12)
	msg, prove = honest.sign(t, s)
	if _, err := c.AddCheckpoint(context.Background(), w, 10, msg, prove); err != nil {
		t.Fatalf("honest log after the attempts: %v", err)
	}
}

func TestLitewitnessRefusesUnknownLogAndKey(t *testing.T) {
	_, w, c := litewitnessSetup(t)
	var tree memTree
	tree.grow(t, "entry ", 2)
	for name, s := range map[string]*checkpoint.Signer{
		"unknown origin":          newSigner(t, "candor.invalid/stranger/epoch-1"),
		"known origin, other key": newSigner(t, lwOrigin),
	} {
		msg, prove := tree.sign(t, s)
		if _, err := c.AddCheckpoint(context.Background(), w, 0, msg, prove); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: got %v, want ErrRefused", name, err)
		}
	}
	// Garbage to the real witness: the client refuses to send a note that is not a checkpoint.
	if _, err := c.AddCheckpoint(context.Background(), w, 0, bytes.Repeat([]byte("x"), 100), nil); err == nil {
		t.Error("sent garbage")
	}
}
