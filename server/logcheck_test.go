package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"candor/admin"
	"candor/installation"
	"candor/internal/leaf"
	"candor/internal/logentry"
)

// reopen closes e's store, lets edit change the bbolt file directly — as an admin with a shell
// would, outside Candor — and returns a new env serving the edited store from the same directory.
func (e *env) reopen(t *testing.T, edit func(tx *bolt.Tx) error) *env {
	t.Helper()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(e.dir, installation.StoreFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(edit); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	n := &env{t: t, dir: e.dir, reviewers: e.reviewers, clock: e.clock}
	if n.st, err = installation.OpenStore(e.dir, e.clock.now); err != nil {
		t.Fatal(err)
	}
	if n.srv, err = New(Config{Store: n.st, Now: e.clock.now, MaxKDF: 2}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr, n.url = ln.Addr().String(), "http://"+ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done; n.st.Close() })
	return n
}

// TestOutsideDeletionDetected: an admin opens the bbolt file with bbolt itself and removes a case
// record and its lookup key (no log entry, no tombstone). The reporter who logs in with the
// receipt is told that the report was logged as entry N but is missing without a logged deletion.
func TestOutsideDeletionDetected(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "please do not make this vanish"))
	c := e.onlyCase()
	if err := e.jobs().VerifyLog(); err != nil {
		t.Fatal(err)
	}
	n := e.reopen(t, func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("cases")).Delete(c.ID[:]); err != nil {
			return err
		}
		return tx.Bucket([]byte("lookup")).Delete(c.Lookup[:])
	})
	want := n.srv.fe.T("en", keyTraceMissing, fmt.Sprint(c.LogIndices[0]))
	status, page := n.do(t, n.client(), "POST", "/followup", nil, login(code))
	if status != 403 || !strings.Contains(page, html.EscapeString(want)) {
		t.Errorf("got status %d, page lacks %q:\n%s", status, want, page)
	}
	// The log itself was not touched: it still verifies, and it still holds the case.
	if _, err := admin.CheckLog(n.st); err != nil {
		t.Errorf("CheckLog: got %v, want nil (only the case record was removed)", err)
	}
}

// rewriteLog replaces entry i with a public leaf holding b and, if rehash, recomputes every stored
// hash so that the tree is self-consistent again (a careful attacker).
func rewriteLog(i uint64, b []byte, rehash bool) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		lb, hb := tx.Bucket([]byte("log")), tx.Bucket([]byte("loghash"))
		key := binaryKey(i)
		lf, err := leaf.New(rand.Reader, b, leaf.Public, nil, leaf.DefaultTagCount)
		if err != nil {
			return err
		}
		stored, err := lf.Marshal()
		if err != nil {
			return err
		}
		if err := lb.Put(key, stored); err != nil || !rehash {
			return err
		}
		var tree hashTree
		var n int64
		if err := lb.ForEach(func(k, v []byte) error {
			lf, err := leaf.Parse(v)
			if err != nil {
				return err
			}
			hs, err := tlog.StoredHashes(n, lf.Head(), tree)
			tree, n = append(tree, hs...), n+1
			return err
		}); err != nil {
			return err
		}
		for j, h := range tree {
			if err := hb.Put(binaryKey(uint64(j)), h[:]); err != nil {
				return err
			}
		}
		return nil
	}
}

func binaryKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// TestCheckLogDetectsRewrites edits the log with bbolt directly: a changed entry with stale hashes
// is caught by the recomputation, and a changed entry with every hash recomputed — a
// self-consistent forged tree — contradicts the recorded signed checkpoint (a fork).
func TestCheckLogDetectsRewrites(t *testing.T) {
	forged, _ := (&logentry.Entry{Type: logentry.StatusChanged, Day: 1, Actor: "admin", Value: "closed"}).Marshal()
	tests := []struct {
		name   string
		rehash bool
		want   error
	}{
		{"stale hashes", false, admin.ErrLogInconsistent},
		{"recomputed tree", true, logentry.ErrFork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logBuf strings.Builder
			e := newEnv(t, envOptions{})
			e.submit(textPart("message", "one"))
			e.submit(textPart("message", "two"))
			if err := e.jobs().VerifyLog(); err != nil {
				t.Fatal(err)
			}
			rep, err := admin.CheckLog(e.st)
			if err != nil || rep.Checkpoint != rep.Size || rep.Size == 0 {
				t.Fatalf("CheckLog before the edit: got %+v, %v", rep, err)
			}
			n := e.reopen(t, rewriteLog(uint64(rep.Size-1), forged, tt.rehash))
			_, err = admin.CheckLog(n.st)
			if !errors.Is(err, tt.want) || !errors.Is(err, admin.ErrLogInconsistent) {
				t.Errorf("CheckLog: got %v, want %v", err, tt.want)
			}
			jobs := &admin.Jobs{Store: n.st, Log: slog.New(slog.NewTextHandler(&logBuf, nil))}
			if jobs.VerifyLog() == nil || !strings.Contains(logBuf.String(), "CASE LOG INCONSISTENT") {
				t.Errorf("VerifyLog did not log loudly: %q", logBuf.String())
			}
		})
	}
}

func TestCheckLogRollback(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.submit(textPart("message", "one"))
	if err := e.jobs().VerifyLog(); err != nil {
		t.Fatal(err)
	}
	size, _ := e.st.LogSize()
	n := e.reopen(t, func(tx *bolt.Tx) error {
		lb := tx.Bucket([]byte("log"))
		if err := lb.Delete(binaryKey(uint64(size - 1))); err != nil {
			return err
		}
		return lb.SetSequence(uint64(size - 1))
	})
	if _, err := admin.CheckLog(n.st); !errors.Is(err, admin.ErrLogInconsistent) {
		t.Errorf("truncated log: got %v, want ErrLogInconsistent", err)
	}
}

// hashTree is a tlog tree in memory: its stored hashes in index order.
type hashTree []tlog.Hash

func (t hashTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = t[x]
	}
	return out, nil
}
