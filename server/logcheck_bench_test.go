package server

import (
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"candor/admin"
	"candor/internal/logentry"
	"candor/server/store"
)

const benchLogSize = 100_000

// benchEntries returns n distinct, realistic log entries.
func benchEntries(b *testing.B, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	for i := range out {
		e := logentry.Entry{Type: logentry.MessageAdded, Day: 20000, Actor: "reporter"}
		e.Case[0], e.Case[1], e.Case[2] = byte(i), byte(i>>8), byte(i>>16)
		e.Subject[0], e.Subject[1], e.Subject[2] = byte(i), byte(i>>8), byte(i>>16)
		m, err := e.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		out[i] = m
	}
	return out
}

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.SetLogOrigin("candor.invalid/bench/epoch-1"); err != nil {
		b.Fatal(err)
	}
	return st
}

// fillLog appends entries in batches of batch.
func fillLog(b *testing.B, st *store.Store, entries [][]byte, batch int) {
	b.Helper()
	for i := 0; i < len(entries); i += batch {
		if _, err := st.AppendLog(entries[i:min(i+batch, len(entries))]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendLog100k appends 100,000 entries to a new store, in durable transactions of the
// given batch size; one op is the whole 100,000.
func BenchmarkAppendLog100k(b *testing.B) {
	entries := benchEntries(b, benchLogSize)
	for _, batch := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st := benchStore(b)
				b.StartTimer()
				fillLog(b, st, entries, batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLogSize), "ns/entry")
		})
	}
}

// BenchmarkAppendLogOne appends one entry per durable transaction (what every case event costs),
// to a log that already holds 100,000 entries; one op is one entry. Multiply by 100,000 for the
// time to append 100,000 one by one (or run with -benchtime=100000x).
func BenchmarkAppendLogOne(b *testing.B) {
	st := benchStore(b)
	fillLog(b, st, benchEntries(b, benchLogSize), 10000)
	more := benchEntries(b, 1)
	for b.Loop() {
		if _, err := st.AppendLog(more); err != nil {
			b.Fatal(err)
		}
	}
}

// logAt100k is a store whose log holds 100,000 entries, with its root.
func logAt100k(b *testing.B) (*store.Store, [][]byte, tlog.Hash) {
	b.Helper()
	st := benchStore(b)
	entries := benchEntries(b, benchLogSize)
	fillLog(b, st, entries, 10000)
	h, err := st.TreeHash(benchLogSize)
	if err != nil {
		b.Fatal(err)
	}
	return st, entries, h
}

// BenchmarkRecordProof: inclusion proofs in a tree of 100,000 (ProveRecord reads the store;
// CheckRecord is what a reporter's page or an inbox does).
func BenchmarkRecordProof(b *testing.B) {
	st, _, root := logAt100k(b)
	b.Run("ProveRecord", func(b *testing.B) {
		i := int64(0)
		for b.Loop() {
			if _, err := st.ProveRecord(benchLogSize, i%benchLogSize); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
	p, err := st.ProveRecord(benchLogSize, 4242)
	if err != nil {
		b.Fatal(err)
	}
	l, err := st.LogLeaf(4242)
	if err != nil {
		b.Fatal(err)
	}
	leaf := l.Hash() // RecordHash of the leaf's head: its tags and the entry's hash (DESIGN §7.2)
	b.Run("CheckRecord", func(b *testing.B) {
		for b.Loop() {
			if err := tlog.CheckRecord(p, benchLogSize, root, 4242, leaf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTreeProof: consistency proofs from older sizes to 100,000.
func BenchmarkTreeProof(b *testing.B) {
	st, _, root := logAt100k(b)
	b.Run("ProveTree", func(b *testing.B) {
		n := int64(1)
		for b.Loop() {
			if _, err := st.ProveTree(benchLogSize, n); err != nil {
				b.Fatal(err)
			}
			n = (n+7919)%(benchLogSize-1) + 1
		}
	})
	const old = 61_237
	oldRoot, err := st.TreeHash(old)
	if err != nil {
		b.Fatal(err)
	}
	p, err := st.ProveTree(benchLogSize, old)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("CheckTree", func(b *testing.B) {
		for b.Loop() {
			if err := tlog.CheckTree(p, benchLogSize, root, old, oldRoot); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckLog100k: the start-up integrity check (CheckLog) of a log of 100,000 entries.
func BenchmarkCheckLog100k(b *testing.B) {
	e := newEnv(b, envOptions{reviewers: 1})
	fillLog(b, e.st, benchEntries(b, benchLogSize), 10000)
	if err := admin.RecordCheckpoint(e.st); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := admin.CheckLog(e.st); err != nil {
			b.Fatal(err)
		}
	}
}
