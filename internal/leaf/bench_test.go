package leaf

import (
	"fmt"
	"testing"
)

// BenchmarkVerify10k: a reviewer's inbox checks a list of 10,000 leaves, 1 % addressed to it
// (each leaf's content ~100 bytes, DefaultTagCount tags), from the empty tree. Reports the list's
// size in bytes.
func BenchmarkVerify10k(b *testing.B) {
	me, other := newKey(b), newKey(b)
	g := &testLog{}
	for i := range 10_000 {
		rest := fmt.Sprintf("%-100s", fmt.Sprintf("entry %d", i))
		if i%100 == 0 {
			g.add(b, rest, Addressed, DefaultTagCount, me, other)
		} else {
			g.add(b, rest, Addressed, DefaultTagCount, other)
		}
	}
	enc, err := g.list(b, 0, me).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	cur := g.tree(b, 10_000)
	b.ResetTimer()
	for b.Loop() {
		l, err := ParseList(enc)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Verify(l, g.tree(b, 0), cur, opts(me))
		if err != nil || len(res.Addressed) != 100 {
			b.Fatalf("%v, %d addressed", err, len(res.Addressed))
		}
	}
	b.ReportMetric(float64(len(enc)), "list-bytes")
}
