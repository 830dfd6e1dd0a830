package circuit

import (
	"math"
	"sync"
	"time"
)

// sweepPerCall is how many of the least recently used circuits each call checks for forgetting.
const sweepPerCall = 2

// none marks the end of the recency list.
const none = -1

// entry is the state of one key: its tokens per kind as of at, and its uploads running. Entries live in
// a slab and form a doubly linked recency list by index (no pointers: cheap for the collector).
type entry struct {
	id         uint32
	prev, next int32
	uploads    int32
	at         int64 // UnixNano of the last refill
	tokens     [numKinds]float32
}

// Keeper keeps the budgets. Its methods are safe for concurrent use.
type Keeper struct {
	circuit, global Budgets
	max             int
	now             func() time.Time
	forgetAfter     time.Duration // the longest full refill: an entry untouched this long is full again

	mu         sync.Mutex
	index      map[uint32]int32
	slab       []entry
	free       []int32
	head, tail int32 // most and least recently used
	glob       entry // the Global key's state
}

// New returns a Keeper for cfg.
func New(cfg Config) *Keeper {
	k := &Keeper{circuit: DefaultBudgets(), global: cfg.Global, max: cfg.MaxCircuits, now: cfg.Now,
		index: map[uint32]int32{}, head: none, tail: none}
	if cfg.Circuit != nil {
		k.circuit = *cfg.Circuit
	}
	if k.max <= 0 {
		k.max = DefaultMaxCircuits
	}
	if k.now == nil {
		k.now = time.Now
	}
	for _, r := range k.circuit.Rates {
		if !r.unlimited() {
			k.forgetAfter = max(k.forgetAfter, r.Per)
		}
	}
	k.glob = freshEntry(0, k.global, k.now().UnixNano())
	return k
}

// freshEntry returns the state of a key never seen: every bucket full.
func freshEntry(id uint32, b Budgets, now int64) entry {
	e := entry{id: id, prev: none, next: none, at: now}
	for i, r := range b.Rates {
		e.tokens[i] = float32(r.Burst)
	}
	return e
}

// Allow takes one action of kind from key's budget, if there is one left.
func (k *Keeper) Allow(key Key, kind Kind) Decision {
	b := k.budgets(key)
	r := b.Rates[kind]
	if r.unlimited() {
		return Decision{OK: true}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now().UnixNano()
	e := k.lookup(key, now)
	refill(e, b, now)
	if e.tokens[kind] >= 1 {
		e.tokens[kind]--
		return Decision{OK: true}
	}
	wait := float64(1-e.tokens[kind]) * float64(r.Per) / float64(r.Burst)
	return Decision{RetryAfter: time.Duration(math.Ceil(wait))}
}

// Acquire takes one of key's concurrent upload slots. release gives it back (call it exactly once);
// ok is false, and release a no-op, when the key runs Budgets.Uploads uploads already.
func (k *Keeper) Acquire(key Key) (release func(), ok bool) {
	b := k.budgets(key)
	if b.Uploads <= 0 {
		return func() {}, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now().UnixNano()
	e := k.lookup(key, now)
	refill(e, b, now) // keeps e.at in recency order for sweep
	if int(e.uploads) >= b.Uploads {
		return func() {}, false
	}
	e.uploads++
	var once sync.Once
	return func() { once.Do(func() { k.release(key) }) }, true
}

func (k *Keeper) release(key Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := &k.glob
	if key.circuit {
		i, ok := k.index[key.id]
		if !ok {
			return // cannot happen: entries with uploads running are never forgotten
		}
		e = &k.slab[i]
	}
	if e.uploads > 0 {
		e.uploads--
	}
}

func (k *Keeper) budgets(key Key) Budgets {
	if key.circuit {
		return k.circuit
	}
	return k.global
}

// Len returns the number of circuits remembered.
func (k *Keeper) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.index)
}

// refill adds the tokens earned since e.at, up to each burst.
func refill(e *entry, b Budgets, now int64) {
	dt := now - e.at
	if dt <= 0 {
		return
	}
	for i, r := range b.Rates {
		if r.unlimited() {
			continue
		}
		t := float64(e.tokens[i]) + float64(dt)*float64(r.Burst)/float64(r.Per)
		e.tokens[i] = float32(min(t, float64(r.Burst)))
	}
	e.at = now
}

// lookup returns key's entry, creating it (and making room) if needed, and marks it most recently
// used; it also forgets a few idle circuits. The caller holds k.mu.
func (k *Keeper) lookup(key Key, now int64) *entry {
	if !key.circuit {
		return &k.glob
	}
	k.sweep(now)
	if i, ok := k.index[key.id]; ok {
		k.moveToFront(i)
		return &k.slab[i]
	}
	if len(k.index) >= k.max {
		k.evictOne()
	}
	i := k.alloc()
	k.slab[i] = freshEntry(key.id, k.circuit, now)
	k.index[key.id] = i
	k.pushFront(i)
	return &k.slab[i]
}

// sweep forgets up to sweepPerCall least recently used circuits that are full again and run no upload.
func (k *Keeper) sweep(now int64) {
	for range sweepPerCall {
		i := k.tail
		if i == none {
			return
		}
		e := &k.slab[i]
		if now-e.at < int64(k.forgetAfter) {
			return // every other entry was used more recently
		}
		if e.uploads > 0 {
			k.moveToFront(i) // an upload longer than forgetAfter: keep it, look at the next
			continue
		}
		k.remove(i)
	}
}

// evictOne forgets the least recently used circuit that runs no upload (under a flood of circuits).
func (k *Keeper) evictOne() {
	for range len(k.index) {
		i := k.tail
		if k.slab[i].uploads == 0 {
			k.remove(i)
			return
		}
		k.moveToFront(i)
	}
}

func (k *Keeper) alloc() int32 {
	if n := len(k.free); n > 0 {
		i := k.free[n-1]
		k.free = k.free[:n-1]
		return i
	}
	k.slab = append(k.slab, entry{})
	return int32(len(k.slab) - 1)
}

func (k *Keeper) remove(i int32) {
	k.unlink(i)
	delete(k.index, k.slab[i].id)
	k.slab[i] = entry{}
	k.free = append(k.free, i)
}

func (k *Keeper) pushFront(i int32) {
	e := &k.slab[i]
	e.prev, e.next = none, k.head
	if k.head != none {
		k.slab[k.head].prev = i
	}
	k.head = i
	if k.tail == none {
		k.tail = i
	}
}

func (k *Keeper) unlink(i int32) {
	e := &k.slab[i]
	if e.prev != none {
		k.slab[e.prev].next = e.next
	} else {
		k.head = e.next
	}
	if e.next != none {
		k.slab[e.next].prev = e.prev
	} else {
		k.tail = e.prev
	}
	e.prev, e.next = none, none
}

func (k *Keeper) moveToFront(i int32) {
	if k.head == i {
		return
	}
	k.unlink(i)
	k.pushFront(i)
}

// Reset forgets every circuit that runs no upload. Call it when tor restarts: a new tor numbers its
// circuits from 1 again, so an old circuit's budget would otherwise pass to an unrelated new circuit.
// Circuits with uploads running keep their entry until the uploads end (their releases still count).
func (k *Keeper) Reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for range len(k.index) {
		i := k.tail
		if k.slab[i].uploads == 0 {
			k.remove(i)
		} else {
			k.moveToFront(i)
		}
	}
}
