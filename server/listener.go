package server

import (
	"net"
	"sync/atomic"
	"time"
)

// IdleListener wraps a listener so that every Read on an accepted connection must make progress
// within idle: the deadline is renewed before each Read, not once per request. A slow but steady
// upload over Tor (minutes for a large file) is never cut off, while a stalled one is dropped after
// idle. It also caps the number of open connections: over max, new connections are closed at once
// so that a flood of idle connections cannot exhaust file descriptors or memory.
type IdleListener struct {
	net.Listener
	idle time.Duration
	max  int64
	open atomic.Int64
}

// NewIdleListener returns ln wrapped with a per-read idle timeout and a cap of max open connections
// (max ≤ 0: no cap).
func NewIdleListener(ln net.Listener, idle time.Duration, max int) *IdleListener {
	return &IdleListener{Listener: ln, idle: idle, max: int64(max)}
}

// Accept waits for the next connection under the cap.
func (l *IdleListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.max > 0 && l.open.Load() >= l.max {
			c.Close()
			continue
		}
		l.open.Add(1)
		return &idleConn{Conn: c, l: l}, nil
	}
}

// Open returns the number of connections currently open.
func (l *IdleListener) Open() int64 { return l.open.Load() }

type idleConn struct {
	net.Conn
	l      *IdleListener
	closed atomic.Bool
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.l.idle > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.l.idle)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

// SetReadDeadline is ignored: fasthttp sets one deadline per request, which would cut off long
// uploads; the per-read idle deadline above replaces it.
func (c *idleConn) SetReadDeadline(time.Time) error { return nil }

func (c *idleConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.open.Add(-1)
	}
	return c.Conn.Close()
}
