package logentry

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// memLog is an in-memory tlog tree.
type memLog struct{ hashes []tlog.Hash }

func (l *memLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

func buildLog(t *testing.T, records []string) *memLog {
	t.Helper()
	l := &memLog{}
	for i, r := range records {
		hs, err := tlog.StoredHashes(int64(i), []byte(r), l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
	}
	return l
}

func (l *memLog) checkpoint(t *testing.T, n int64) *Checkpoint {
	t.Helper()
	h, err := tlog.TreeHash(n, l)
	if err != nil {
		t.Fatal(err)
	}
	return &Checkpoint{Origin: "candor:test", Size: n, Hash: h}
}

func records(n int, tamper int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("entry %d", i)
		if i == tamper {
			out[i] = "rewritten"
		}
	}
	return out
}

func TestCheckConsistent(t *testing.T) {
	honest := buildLog(t, records(9, -1))
	forked := buildLog(t, records(9, 3)) // entry 3 rewritten
	proof := func(l *memLog, newer, older int64) tlog.TreeProof {
		p, err := tlog.ProveTree(newer, older, l)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := *honest.checkpoint(t, 5)
	other.Origin = "candor:other"
	tests := []struct {
		name         string
		older, newer *Checkpoint
		proof        tlog.TreeProof
		want         error
	}{
		{"extends", honest.checkpoint(t, 4), honest.checkpoint(t, 9), proof(honest, 9, 4), nil},
		{"same", honest.checkpoint(t, 9), honest.checkpoint(t, 9), nil, nil},
		{"from empty", honest.checkpoint(t, 0), honest.checkpoint(t, 9), nil, nil},
		{"fork", honest.checkpoint(t, 9), forked.checkpoint(t, 9), nil, ErrFork},
		{"rewritten before the old size", honest.checkpoint(t, 5), forked.checkpoint(t, 9), proof(forked, 9, 5), ErrInconsistent},
		{"honest proof for a forged tree", honest.checkpoint(t, 5), forked.checkpoint(t, 9), proof(honest, 9, 5), ErrInconsistent},
		{"rewritten after the old size is fine", honest.checkpoint(t, 3), forked.checkpoint(t, 9), proof(forked, 9, 3), nil},
		{"rollback", honest.checkpoint(t, 9), honest.checkpoint(t, 4), nil, ErrRollback},
		{"other log", honest.checkpoint(t, 4), &other, proof(honest, 5, 4), ErrOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckConsistent(tt.older, tt.newer, tt.proof)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}
