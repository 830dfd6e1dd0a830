package logentry

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors of the history checks. A checker should treat each as proof of a rewritten history
// and say so loudly; both checkpoints (signed by the server) are the evidence.
var (
	// ErrFork: two checkpoints of the same log and size have different roots. If both are signed
	// by the server's key, the server showed two different histories.
	ErrFork = errors.New("logentry: forked log: two checkpoints of the same size with different roots")
	// ErrRollback: a newer checkpoint is smaller than one seen before.
	ErrRollback = errors.New("logentry: log rolled back: tree smaller than a checkpoint seen before")
	// ErrInconsistent: the consistency proof does not show that the newer tree extends the older.
	ErrInconsistent = errors.New("logentry: log rewritten: newer tree does not extend the older one")
	// ErrOrigin: the checkpoints name different logs.
	ErrOrigin = errors.New("logentry: checkpoints of different logs")
)

// CheckFork reports whether a and b, two checkpoints of the same log, contradict each other on
// their own: same size but different roots (ErrFork), or different origins (ErrOrigin). It
// checks no signature: verify both first, or the "fork" may be a forgery rather than evidence.
func CheckFork(a, b *Checkpoint) error {
	if a.Origin != b.Origin {
		return fmt.Errorf("%w: %q and %q", ErrOrigin, a.Origin, b.Origin)
	}
	if a.Size == b.Size && a.Hash != b.Hash {
		return fmt.Errorf("%w: size %d has roots %s and %s", ErrFork, a.Size, a.Hash, b.Hash)
	}
	return nil
}

// CheckConsistent verifies that newer extends older: same origin, newer.Size >= older.Size
// (ErrRollback), equal roots at equal sizes (ErrFork), and otherwise that proof — from
// tlog.ProveTree(newer.Size, older.Size) — verifies (ErrInconsistent). An empty older tree is
// extended by every tree. Signatures are not checked here.
func CheckConsistent(older, newer *Checkpoint, proof tlog.TreeProof) error {
	if err := CheckFork(older, newer); err != nil {
		return err
	}
	switch {
	case newer.Size < older.Size:
		return fmt.Errorf("%w: size %d after size %d", ErrRollback, newer.Size, older.Size)
	case older.Size == 0 || newer.Size == older.Size:
		return nil
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Hash, older.Size, older.Hash); err != nil {
		return fmt.Errorf("%w: from size %d to %d: %v", ErrInconsistent, older.Size, newer.Size, err)
	}
	return nil
}
