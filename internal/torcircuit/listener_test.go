package torcircuit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unixListener listens on a unix socket in a temporary directory, like tor's socket of the onion service.
func unixListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// accepted is what the server side saw on one connection.
type accepted struct {
	circuit uint32
	ok      bool
	data    string
	err     error
}

// serveOne accepts one connection on ln and reads it to the end (or to an error) within 10 s.
func serveOne(ln net.Listener) <-chan accepted {
	out := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			out <- accepted{err: err}
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		id, ok := FromConn(c)
		out <- accepted{circuit: id, ok: ok, data: string(b), err: err}
	}()
	return out
}

// dial connects to ln and writes parts, pausing between them.
func dial(t *testing.T, ln net.Listener, pause time.Duration, parts ...string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for i, p := range parts {
		if i > 0 {
			time.Sleep(pause)
		}
		if _, err := c.Write([]byte(p)); err != nil {
			break // the server may have closed already
		}
	}
	return c
}

func TestListenerReadsCircuit(t *testing.T) {
	ln := NewListener(unixListener(t), time.Second)
	got := serveOne(ln)
	c := dial(t, ln, 0, string(Format(Header{Circuit: 0x1234abcd, VirtualPort: 80}))+"hello")
	c.(*net.UnixConn).CloseWrite()
	a := <-got
	if a.err != nil || !a.ok || a.circuit != 0x1234abcd || a.data != "hello" {
		t.Fatalf("got %+v, want circuit 0x1234abcd and data %q", a, "hello")
	}
}

func TestListenerRefusesBadHeaders(t *testing.T) {
	for name, c := range badHeaders(t) {
		t.Run(name, func(t *testing.T) {
			ln := NewListener(unixListener(t), 300*time.Millisecond)
			got := serveOne(ln)
			conn := dial(t, ln, 0, string(c.in))
			a := <-got
			if a.ok || !errors.Is(a.err, c.want) || a.data != "" {
				t.Fatalf("got %+v, want no circuit, no data and an error wrapping %v", a, c.want)
			}
			assertClosed(t, conn)
		})
	}
}

// assertClosed checks that the server closed the client's connection without answering.
func assertClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || (err != io.EOF && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset")) {
		t.Fatalf("client read %d bytes, %v; want the connection closed", n, err)
	}
}

func TestListenerSlowHeader(t *testing.T) {
	line := string(Format(Header{Circuit: 7, VirtualPort: 80}))
	for name, parts := range map[string][]string{
		"silent":         nil,
		"one byte":       {"P"},
		"byte by byte":   strings.Split(line, ""),
		"split in two":   {line[:10], line[10:]},
		"signature only": {"PROXY"},
	} {
		t.Run(name, func(t *testing.T) {
			ln := NewListener(unixListener(t), 200*time.Millisecond)
			got := serveOne(ln)
			conn := dial(t, ln, 100*time.Millisecond, parts...)
			a := <-got
			if a.ok || a.err == nil {
				t.Fatalf("got %+v, want the connection refused", a)
			}
			if !errors.Is(a.err, ErrNoHeader) && !errors.Is(a.err, ErrBadHeader) {
				t.Fatalf("got error %v, want ErrNoHeader or ErrBadHeader", a.err)
			}
			assertClosed(t, conn)
		})
	}
}

// A client's own PROXY line comes after tor's header: it is data, never a second header.
func TestListenerClientCannotSpoof(t *testing.T) {
	ln := NewListener(unixListener(t), time.Second)
	got := serveOne(ln)
	spoof := string(Format(Header{Circuit: 9, VirtualPort: 80}))
	c := dial(t, ln, 0, string(Format(Header{Circuit: 7, VirtualPort: 80}))+spoof)
	c.(*net.UnixConn).CloseWrite()
	a := <-got
	if !a.ok || a.circuit != 7 || a.data != spoof {
		t.Fatalf("got %+v, want circuit 7 with the spoofed line as data", a)
	}
}

// On a listener that is not wrapped (--dev-listen), a PROXY line is not interpreted: no circuit, and the
// bytes reach the application as they are.
func TestPlainListenerIgnoresHeader(t *testing.T) {
	ln := unixListener(t)
	got := serveOne(ln)
	line := string(Format(Header{Circuit: 7, VirtualPort: 80}))
	c := dial(t, ln, 0, line+"x")
	c.(*net.UnixConn).CloseWrite()
	a := <-got
	if a.ok || a.data != line+"x" {
		t.Fatalf("got %+v, want no circuit and the raw bytes", a)
	}
}

// wrapped is a listener wrapper that hides the *Conn behind a plain net.Conn, as server.IdleListener does.
type wrapped struct{ net.Listener }

type wrappedConn struct{ net.Conn }

func (w wrapped) Accept() (net.Conn, error) {
	c, err := w.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c}, nil
}

// An HTTP server on the wrapped listener sees the circuit of each connection, also through a wrapper
// that embeds the connection; on a plain listener the same request prefixed with a PROXY line is a bad
// request.
func TestHTTP(t *testing.T) {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := r.Context().Value(connKey{}).(uint32)
			io.WriteString(w, strconv.FormatBool(ok)+" "+strconv.FormatUint(uint64(id), 10))
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if id, ok := FromConn(c); ok {
				return context.WithValue(ctx, connKey{}, id)
			}
			return ctx
		},
		ReadHeaderTimeout: 5 * time.Second,
	}
	tor := unixListener(t)
	plain := unixListener(t)
	go srv.Serve(wrapped{NewListener(tor, time.Second)})
	go srv.Serve(plain)
	t.Cleanup(func() { srv.Close() })

	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	for _, c := range []struct {
		ln   net.Listener
		id   uint32
		want string
	}{
		{tor, 42, "200 OK|true 42"},
		{tor, 0xdeadbeef, "200 OK|true 3735928559"},
		{plain, 42, "400 Bad Request|"},
	} {
		conn := dial(t, c.ln, 0, string(Format(Header{Circuit: c.id, VirtualPort: 80}))+req)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, wantBody, _ := strings.Cut(c.want, "|")
		if resp.Status != status || (wantBody != "" && string(body) != wantBody) {
			t.Errorf("circuit %d on %s: got %s %q, want %s %q", c.id, c.ln.Addr(), resp.Status, body, status, wantBody)
		}
	}
}

type connKey struct{}

func TestAddr(t *testing.T) {
	a := Addr{Circuit: 5}
	if a.String() != "tor-circuit" || strings.Contains(a.String(), "5") {
		t.Errorf("Addr.String() = %q, want no identifier", a.String())
	}
	if id, ok := FromAddr(&a); !ok || id != 5 {
		t.Errorf("FromAddr(&Addr{5}) = %d, %v", id, ok)
	}
	if _, ok := FromAddr(&net.TCPAddr{IP: net.ParseIP("fc00:dead:beef:4dad::0:5"), Port: 5}); ok {
		t.Error("FromAddr read a circuit from a plain TCP address")
	}
}
