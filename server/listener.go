package server

import (
	"net"
	"sync/atomic"
	"time"
)

// IdleListener wraps a listener so that every Read on an accepted connection must make progress
// within idle: the deadline is renewed before each Read, not once per request (a deadline set
// with SetReadDeadline caps it; see idleConn.SetReadDeadline). A slow but steady
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
	cap    atomic.Int64 // absolute read deadline set through SetReadDeadline (UnixNano); 0: none
}

func (c *idleConn) Read(p []byte) (int, error) {
	var d time.Time
	if c.l.idle > 0 {
		d = time.Now().Add(c.l.idle)
	}
	if lim := c.cap.Load(); lim != 0 && (d.IsZero() || lim < d.UnixNano()) {
		d = time.Unix(0, lim)
	}
	if !d.IsZero() {
		if err := c.Conn.SetReadDeadline(d); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

// SetReadDeadline does not replace the per-read idle deadline: it caps it. The server sets a
// deadline for each request's headers (Limits.HeaderTimeout: a slowloris trickling a header byte
// by byte is cut off) and moves it far out once the headers are in (so a slow but steady upload
// body is bounded per read only, never as a whole); a zero time removes the cap.
func (c *idleConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.cap.Store(0)
	} else {
		c.cap.Store(t.UnixNano())
	}
	return nil
}

func (c *idleConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.open.Add(-1)
	}
	return c.Conn.Close()
}
