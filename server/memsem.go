package server

import (
	"container/list"
	"sync"
	"time"
)

// memSem is a weighted semaphore over bytes of memory: uploads reserve what they will hold, so that
// their number is bounded by memory rather than by a count. Waiters are served in arrival order,
// so a large reservation is not starved by a stream of small ones.
type memSem struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters list.List // of *memWaiter
}

type memWaiter struct {
	n     int64
	ready chan struct{} // closed when the reservation is granted
}

func newMemSem(size int64) *memSem { return &memSem{size: size} }

// acquire reserves n bytes, waiting at most wait; it reports whether it got them. A request larger
// than the whole semaphore is refused at once.
func (m *memSem) acquire(n int64, wait time.Duration) bool {
	m.mu.Lock()
	if n > m.size {
		m.mu.Unlock()
		return false
	}
	if m.size-m.used >= n && m.waiters.Len() == 0 {
		m.used += n
		m.mu.Unlock()
		return true
	}
	w := &memWaiter{n: n, ready: make(chan struct{})}
	elem := m.waiters.PushBack(w)
	m.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-t.C:
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-w.ready: // granted while the timer fired
		return true
	default:
	}
	front := m.waiters.Front() == elem
	m.waiters.Remove(elem)
	if front {
		m.grantLocked() // the next waiters may fit where this one did not
	}
	return false
}

// release returns n bytes and wakes the waiters that now fit, in order.
func (m *memSem) release(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.used -= n
	m.grantLocked()
}

func (m *memSem) grantLocked() {
	for {
		e := m.waiters.Front()
		if e == nil {
			return
		}
		w := e.Value.(*memWaiter)
		if m.size-m.used < w.n {
			return
		}
		m.used += w.n
		m.waiters.Remove(e)
		close(w.ready)
	}
}
