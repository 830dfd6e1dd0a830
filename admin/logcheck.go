package admin

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"candor/installation"
	"candor/internal/checkpoint"
	"candor/internal/leaf"
	"candor/internal/logentry"
	"candor/server/store"
)

// MetaCheckpoint is the store meta key of the last checkpoint note the server recorded (signed
// with the log's keys, internal/checkpoint). CheckLog compares the log with it.
const MetaCheckpoint = "server.checkpoint"

// ErrLogInconsistent is wrapped by every CheckLog error that shows the stored log was altered:
// an entry that no longer matches its stored hashes, missing or extra hashes, or a tree that
// contradicts the last signed checkpoint (then logentry.ErrFork or ErrRollback is wrapped too).
var ErrLogInconsistent = errors.New("case log is inconsistent")

// LogReport summarises a consistent case log; it holds no case identifiers.
type LogReport struct {
	Size             int64 // entries
	Checkpoint       int64 // size of the last recorded signed checkpoint; -1: none
	Deleted          int   // CaseDeleted entries
	RetentionDeleted int   // of those, by the retention job
}

// CheckLog recomputes the Merkle tree of st's case log from the stored entries and compares it
// with the stored hashes and with the last signed checkpoint recorded in meta (MetaCheckpoint),
// whose signature it verifies with the installation's key. It reads the whole log in one read
// transaction and holds the tree's hashes in memory (64 bytes per entry). Errors that show
// tampering wrap ErrLogInconsistent; they name indices and sizes, never case identifiers.
func CheckLog(st *store.Store) (LogReport, error) {
	rep := LogReport{Checkpoint: -1}
	k, err := installation.LoadKeys(st)
	if err != nil {
		return rep, fmt.Errorf("checking the case log: %w", err)
	}
	tree, err := recomputeLog(st, &rep)
	if err != nil {
		return rep, err
	}
	sc, err := storedCheckpoint(st, k)
	if err != nil || sc == nil {
		return rep, err
	}
	rep.Checkpoint = sc.Size
	now, err := treeAt(tree, k.Origin, sc.Size, rep.Size)
	if err != nil {
		return rep, fmt.Errorf("%w: %v", ErrLogInconsistent, err)
	}
	older := &logentry.Checkpoint{Origin: sc.Origin, Size: sc.Size, Hash: sc.Hash}
	if err := logentry.CheckConsistent(older, now, nil); err != nil {
		return rep, fmt.Errorf("%w: the stored tree contradicts the signed checkpoint: %w", ErrLogInconsistent, err)
	}
	return rep, nil
}

// treeAt returns the checkpoint that the recomputed tree of size logSize gives at size want: the
// tree head of that size, or (if the log is shorter) the bare smaller size, which
// logentry.CheckConsistent refuses as a rollback.
func treeAt(tree memTree, origin string, want, logSize int64) (*logentry.Checkpoint, error) {
	if want > logSize {
		return &logentry.Checkpoint{Origin: origin, Size: logSize}, nil
	}
	h, err := tlog.TreeHash(want, tree)
	if err != nil {
		return nil, err
	}
	return &logentry.Checkpoint{Origin: origin, Size: want, Hash: h}, nil
}

// memTree is a tlog tree in memory: its stored hashes in index order.
type memTree []tlog.Hash

func (t memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(t)) {
			return nil, fmt.Errorf("%w: hash %d missing", ErrLogInconsistent, x)
		}
		out[i] = t[x]
	}
	return out, nil
}

// recomputeLog rebuilds the tree from the stored leaves (their heads), compares every stored hash
// with it, counts deletions into rep and returns the tree.
func recomputeLog(st *store.Store, rep *LogReport) (memTree, error) {
	var tree memTree
	var next, hashes int64
	entry := func(i int64, b []byte) error {
		if i != next {
			return fmt.Errorf("%w: entry %d missing", ErrLogInconsistent, next)
		}
		lf, err := leaf.Parse(b)
		if err != nil {
			return fmt.Errorf("%w: entry %d: %v", ErrLogInconsistent, i, err)
		}
		hs, err := tlog.StoredHashes(i, lf.Head(), tree)
		if err != nil {
			return err
		}
		tree, next = append(tree, hs...), next+1
		countDeletion(lf.Rest, rep)
		return nil
	}
	hash := func(i int64, h []byte) error {
		if i != hashes || i >= int64(len(tree)) || !bytes.Equal(h, tree[i][:]) {
			return fmt.Errorf("%w: stored hash %d does not match the entries", ErrLogInconsistent, i)
		}
		hashes++
		return nil
	}
	size, err := st.ScanLog(entry, hash)
	if err != nil {
		return nil, fmt.Errorf("checking the case log: %w", err)
	}
	rep.Size = size
	if next != size || hashes != int64(len(tree)) || hashes != tlog.StoredHashCount(size) {
		return nil, fmt.Errorf("%w: %d entries and %d hashes for a log of size %d", ErrLogInconsistent, next, hashes, size)
	}
	return tree, nil
}

// countDeletion counts e into rep if it is a CaseDeleted entry.
func countDeletion(e []byte, rep *LogReport) {
	le, err := logentry.Parse(e)
	if err != nil || le.Type != logentry.CaseDeleted {
		return
	}
	rep.Deleted++
	if le.Actor == RetentionActor && le.Value == RetentionValue {
		rep.RetentionDeleted++
	}
}

// storedCheckpoint reads and verifies the recorded checkpoint note; nil if there is none or it is
// of another epoch's log.
func storedCheckpoint(st *store.Store, k *installation.Keys) (*checkpoint.Checkpoint, error) {
	b, err := st.Meta(MetaCheckpoint)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checking the case log: %w", err)
	}
	v, err := checkpoint.NewLogVerifier(k.Log.LogKey())
	if err != nil {
		return nil, err
	}
	if origin, _, _ := bytes.Cut(b, []byte("\n")); string(origin) != k.Origin {
		return nil, nil // a note of an earlier epoch: the restore started a new log
	}
	c, err := checkpoint.Open(b, v, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: recorded checkpoint: %w", ErrLogInconsistent, err)
	}
	return &c.Checkpoint, nil
}

// RecordCheckpoint signs the current tree head and records it in meta (MetaCheckpoint) if the
// log grew since the recorded one, so that a later CheckLog can tell a rewrite of anything up to
// this size. Callers that run it concurrently may record an older head last; CheckLog still holds.
func RecordCheckpoint(st *store.Store) error {
	k, err := installation.LoadKeys(st)
	if err != nil {
		return err
	}
	size, hash, err := st.LogHead()
	if err != nil {
		return err
	}
	if old, err := storedCheckpoint(st, k); err != nil || (old != nil && old.Size >= size) {
		return err
	}
	note, err := k.Log.Sign(&checkpoint.Checkpoint{Origin: k.Origin, Size: size, Hash: hash})
	if err != nil {
		return err
	}
	return st.PutMeta(MetaCheckpoint, note)
}
