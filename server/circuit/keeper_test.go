package circuit

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock for the keeper.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)} }

func TestBudgetPerCircuit(t *testing.T) {
	c := newClock()
	k := New(Config{Now: c.now})
	a, b := CircuitKey(1), CircuitKey(2)
	for i := range 3 {
		if d := k.Allow(a, Submit); !d.OK {
			t.Fatalf("submission %d of circuit a refused", i+1)
		}
	}
	d := k.Allow(a, Submit)
	if d.OK {
		t.Fatal("a fourth submission within the hour was allowed")
	}
	if d.RetryAfter != 20*time.Minute {
		t.Errorf("RetryAfter = %v, want 20m (one token of 3 per hour)", d.RetryAfter)
	}
	if d := k.Allow(b, Submit); !d.OK {
		t.Fatal("circuit b refused because of circuit a")
	}
	if d := k.Allow(a, Login); !d.OK {
		t.Fatal("a login refused because of circuit a's submissions")
	}
	c.advance(20*time.Minute - time.Second)
	if k.Allow(a, Submit).OK {
		t.Fatal("allowed before the token refilled")
	}
	c.advance(time.Second)
	if !k.Allow(a, Submit).OK {
		t.Fatal("refused after RetryAfter")
	}
	if k.Allow(a, Submit).OK {
		t.Fatal("more than one token refilled in 20 minutes")
	}
}

func TestDefaultsPerKind(t *testing.T) {
	k := New(Config{Now: newClock().now})
	want := map[Kind]int{Submit: 3, Login: 6, FollowUp: 10, Session: 3}
	for kind, n := range want {
		key := CircuitKey(uint32(kind) + 100)
		got := 0
		for k.Allow(key, kind).OK {
			got++
			if got > 1000 {
				break
			}
		}
		if got != n {
			t.Errorf("%v: %d allowed at once, want %d", kind, got, n)
		}
	}
}

func TestGlobalFallback(t *testing.T) {
	k := New(Config{Now: newClock().now})
	for i := range 1000 {
		if !k.Allow(Global, Submit).OK || !k.Allow(Global, Login).OK {
			t.Fatalf("Global key refused at %d with no global budget", i)
		}
		if _, ok := k.Acquire(Global); !ok {
			t.Fatalf("Global upload %d refused with no global budget", i)
		}
	}
	if k.Len() != 0 {
		t.Errorf("Global key counted as %d circuits", k.Len())
	}
	var g Budgets
	g.Rates[Submit] = Rate{Burst: 2, Per: time.Hour}
	g.Uploads = 1
	k = New(Config{Now: newClock().now, Global: g})
	got := []bool{k.Allow(Global, Submit).OK, k.Allow(Global, Submit).OK, k.Allow(Global, Submit).OK}
	if !got[0] || !got[1] || got[2] {
		t.Errorf("Global budget of 2 submissions: got %v, want [true true false]", got)
	}
	rel, ok := k.Acquire(Global)
	if _, ok2 := k.Acquire(Global); !ok || ok2 {
		t.Error("Global budget of 1 upload not applied")
	}
	rel()
	if _, ok := k.Acquire(Global); !ok {
		t.Error("Global upload slot not given back")
	}
}

func TestUploads(t *testing.T) {
	k := New(Config{Now: newClock().now})
	a := CircuitKey(7)
	r1, ok1 := k.Acquire(a)
	r2, ok2 := k.Acquire(a)
	_, ok3 := k.Acquire(a)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("Acquire: %v %v %v, want two slots then a refusal", ok1, ok2, ok3)
	}
	if _, ok := k.Acquire(CircuitKey(8)); !ok {
		t.Fatal("another circuit's upload refused")
	}
	r1()
	r1() // a second release must not give back a second slot
	if _, ok := k.Acquire(a); !ok {
		t.Fatal("released slot not given back")
	}
	if _, ok := k.Acquire(a); ok {
		t.Fatal("double release gave back two slots")
	}
	r2()
}

func TestForgetsIdleCircuits(t *testing.T) {
	c := newClock()
	k := New(Config{Now: c.now})
	for i := range uint32(1000) {
		k.Allow(CircuitKey(i), Submit)
	}
	busy := CircuitKey(5000)
	release, _ := k.Acquire(busy)
	if k.Len() != 1001 {
		t.Fatalf("Len = %d, want 1001", k.Len())
	}
	c.advance(time.Hour) // every budget is full again
	for range 600 {
		k.Allow(CircuitKey(9999), Login)
	}
	if got := k.Len(); got != 2 {
		t.Fatalf("after an idle hour: Len = %d, want 2 (the busy uploader and the new circuit)", got)
	}
	release()
	if _, ok := k.Acquire(busy); !ok {
		t.Fatal("the uploader's slot was lost")
	}
}

func TestMaxCircuits(t *testing.T) {
	c := newClock()
	k := New(Config{Now: c.now, MaxCircuits: 100})
	hold := CircuitKey(0)
	k.Acquire(hold)
	for i := range uint32(10_000) {
		k.Allow(CircuitKey(i+1), Submit)
		c.advance(time.Millisecond)
	}
	if got := k.Len(); got > 100 {
		t.Fatalf("Len = %d, want ≤ 100", got)
	}
	k.Acquire(hold)
	if _, ok := k.Acquire(hold); ok {
		t.Fatal("the circuit running uploads was forgotten under the cap")
	}
}

// model is the keeper without any forgetting: one entry per circuit, kept for ever.
type model struct {
	b Budgets
	m map[uint32]*entry
}

func (m *model) allow(id uint32, kind Kind, now int64) bool {
	e, ok := m.m[id]
	if !ok {
		f := freshEntry(id, m.b, now)
		e = &f
		m.m[id] = e
	}
	refill(e, m.b, now)
	if e.tokens[kind] >= 1 {
		e.tokens[kind]--
		return true
	}
	return false
}

// Forgetting (idle sweep) changes no decision: a Keeper and a keeper that never forgets agree on a
// random sequence of actions over many circuits with random pauses.
func TestForgettingIsInvisible(t *testing.T) {
	c := newClock()
	k := New(Config{Now: c.now})
	m := &model{b: DefaultBudgets(), m: map[uint32]*entry{}}
	rng := rand.New(rand.NewPCG(1, 2))
	forgot := 0
	for i := range 200_000 {
		if rng.IntN(100) == 0 {
			c.advance(time.Duration(rng.IntN(int(90 * time.Minute))))
		} else {
			c.advance(time.Duration(rng.IntN(int(20 * time.Second))))
		}
		id := uint32(rng.IntN(300))
		kind := Kind(rng.IntN(int(numKinds)))
		got := k.Allow(CircuitKey(id), kind).OK
		if want := m.allow(id, kind, c.now().UnixNano()); got != want {
			t.Fatalf("step %d: circuit %d %v: keeper %v, model %v", i, id, kind, got, want)
		}
		forgot = max(forgot, len(m.m)-k.Len())
	}
	if forgot == 0 {
		t.Fatal("the keeper never forgot a circuit: the test shows nothing")
	}
}

func TestReset(t *testing.T) {
	k := New(Config{Now: newClock().now})
	for i := range uint32(50) {
		for k.Allow(CircuitKey(i), Submit).OK {
		}
	}
	release, _ := k.Acquire(CircuitKey(1))
	k.Reset()
	if k.Len() != 1 {
		t.Fatalf("after Reset: Len = %d, want 1 (the uploader)", k.Len())
	}
	if !k.Allow(CircuitKey(7), Submit).OK {
		t.Fatal("after Reset a circuit number kept its spent budget")
	}
	release()
	if _, ok := k.Acquire(CircuitKey(1)); !ok {
		t.Fatal("the uploader's release was lost")
	}
}

// Concurrent callers on shared circuits never get more than the budget between them (run with -race).
func TestConcurrent(t *testing.T) {
	k := New(Config{Now: newClock().now, MaxCircuits: 64})
	var allowed [16]atomic.Int32
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				id := uint32((g + i) % 16)
				if k.Allow(CircuitKey(id), Submit).OK {
					allowed[id].Add(1)
				}
				if rel, ok := k.Acquire(CircuitKey(id)); ok {
					rel()
				}
			}
		})
	}
	wg.Wait()
	for id := range allowed {
		if n := allowed[id].Load(); n != 3 {
			t.Errorf("circuit %d: %d submissions allowed at one instant, want 3", id, n)
		}
	}
}
