package torcircuit

import (
	"net"
	"sync"
	"time"

	"github.com/pires/go-proxyproto"
)

// DefaultHeaderTimeout bounds the wait for tor's header when NewListener gets 0. Tor writes the header
// before it relays anything from the client, so it arrives at once; a connection that sends nothing for
// this long is not from tor.
const DefaultHeaderTimeout = 5 * time.Second

// Listener wraps tor's unix-socket listener of an onion service with HiddenServiceExportCircuitID
// haproxy. Every accepted connection must open with tor's header: one without it (or with any other
// header) is closed on its first Read, which returns an error wrapping ErrNoHeader or ErrBadHeader.
// The header is read lazily, on the connection's first Read (or Circuit / RemoteAddr call), so a
// silent connection never blocks Accept.
type Listener struct {
	net.Listener
	timeout time.Duration
}

// NewListener wraps ln, which must be tor's socket (see the package comment); headerTimeout ≤ 0 means
// DefaultHeaderTimeout.
func NewListener(ln net.Listener, headerTimeout time.Duration) *Listener {
	if headerTimeout <= 0 {
		headerTimeout = DefaultHeaderTimeout
	}
	return &Listener{Listener: ln, timeout: headerTimeout}
}

// Accept returns the next connection, wrapped so that its first Read consumes and checks the header.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc := proxyproto.NewConn(c, proxyproto.WithPolicy(proxyproto.REQUIRE),
		proxyproto.SetReadHeaderTimeout(l.timeout))
	return &Conn{pc: pc, raw: c}, nil
}

// Conn is a connection from tor whose first bytes are tor's PROXY header.
type Conn struct {
	pc  *proxyproto.Conn
	raw net.Conn

	once sync.Once
	hdr  Header
	err  error
}

// header reads and checks the header once; on failure the connection is closed.
func (c *Conn) header() (Header, error) {
	c.once.Do(func() {
		ph := c.pc.ProxyHeader()
		if ph == nil {
			c.err = c.readError()
		} else {
			c.hdr, c.err = fromProxy(ph)
		}
		if c.err != nil {
			c.raw.Close()
		}
	})
	return c.hdr, c.err
}

// readError returns why the library found no header (it keeps the error for Read).
func (c *Conn) readError() error {
	if _, err := c.pc.Read(nil); err != nil {
		return headerError(err)
	}
	return ErrNoHeader
}

// Circuit returns the identifier of the Tor circuit the connection came on. ok is false if the
// connection had no valid header (it is then closed).
func (c *Conn) Circuit() (id uint32, ok bool) {
	h, err := c.header()
	return h.Circuit, err == nil
}

// Read reads the client's bytes, after the header.
func (c *Conn) Read(b []byte) (int, error) {
	if _, err := c.header(); err != nil {
		return 0, err
	}
	return c.pc.Read(b)
}

// Write writes to the client.
func (c *Conn) Write(b []byte) (int, error) {
	if _, err := c.header(); err != nil {
		return 0, err
	}
	return c.raw.Write(b)
}

// Close closes the connection.
func (c *Conn) Close() error { return c.raw.Close() }

// LocalAddr returns the socket's address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr returns an Addr naming the circuit, or the socket's (empty) peer address if the header
// is missing or bad.
func (c *Conn) RemoteAddr() net.Addr {
	if h, err := c.header(); err == nil {
		return Addr{Circuit: h.Circuit}
	}
	return c.raw.RemoteAddr()
}

// SetDeadline sets both deadlines; the header read never extends a read deadline set here.
func (c *Conn) SetDeadline(t time.Time) error { return c.pc.SetDeadline(t) }

// SetReadDeadline sets the read deadline; the header read never extends it.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.raw.SetWriteDeadline(t) }

// Addr is the remote address of a connection from tor: the circuit it came on. Its String does not
// name the circuit, so that code logging remote addresses logs no identifier; use the Circuit field.
type Addr struct{ Circuit uint32 }

// Network returns "tor-circuit".
func (Addr) Network() string { return "tor-circuit" }

// String returns "tor-circuit" (never the identifier).
func (Addr) String() string { return "tor-circuit" }

// FromAddr returns the circuit of a remote address that a Listener's connection reported.
func FromAddr(a net.Addr) (uint32, bool) {
	switch v := a.(type) {
	case Addr:
		return v.Circuit, true
	case *Addr:
		if v != nil {
			return v.Circuit, true
		}
	}
	return 0, false
}

// FromConn returns the circuit a connection came on: through its Circuit method, else its RemoteAddr
// (so that wrappers embedding a *Conn as a net.Conn still work). ok is false for connections that are
// not from a Listener — on such a listener the limits fall back to a global key.
func FromConn(c net.Conn) (uint32, bool) {
	if cc, ok := c.(interface{ Circuit() (uint32, bool) }); ok {
		return cc.Circuit()
	}
	return FromAddr(c.RemoteAddr())
}
