package witnessclient

import (
	"context"
	"testing"
)

// BenchmarkSign: signing one checkpoint note (Ed25519 + ML-DSA-65), the log's own cost per append.
func BenchmarkSign(b *testing.B) {
	s := newSigner(b, lwOrigin)
	var tree memTree
	tree.grow(b, "entry ", 100)
	for b.Loop() {
		tree.sign(b, s)
	}
}

// BenchmarkAddCheckpointLitewitness: one append cosigned by a loopback litewitness (sign, send
// with a consistency proof, verify the cosignature).
func BenchmarkAddCheckpointLitewitness(b *testing.B) {
	s, w, c := litewitnessSetup(b)
	var tree memTree
	old := int64(0)
	for b.Loop() {
		tree.add(b, "entry")
		msg, prove := tree.sign(b, s)
		if _, err := c.AddCheckpoint(context.Background(), w, old, msg, prove); err != nil {
			b.Fatal(err)
		}
		old = tree.n
	}
}
