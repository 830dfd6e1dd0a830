package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"candor/server/synctest"
)

// socks5 is a minimal SOCKS5 server (no authentication, CONNECT only) that sends every connection
// to target, as tor's SocksPort sends an .onion name to the onion service. It records the names
// it was asked for.
type socks5 struct {
	ln     net.Listener
	target string
	names  chan string
}

func newSOCKS5(t *testing.T, target string) *socks5 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socks5{ln: ln, target: target, names: make(chan string, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *socks5) serve(c net.Conn) {
	defer c.Close()
	var b [262]byte
	if _, err := io.ReadFull(c, b[:2]); err != nil || b[0] != 5 {
		return
	}
	io.ReadFull(c, b[:b[1]])
	c.Write([]byte{5, 0})
	if _, err := io.ReadFull(c, b[:4]); err != nil || b[1] != 1 || b[3] != 3 { // CONNECT, domain name
		return
	}
	io.ReadFull(c, b[:1])
	name := make([]byte, b[0])
	io.ReadFull(c, name)
	var port [2]byte
	io.ReadFull(c, port[:])
	s.names <- string(name) + ":" + itoa(binary.BigEndian.Uint16(port[:]))
	up, err := net.Dial("tcp", s.target)
	if err != nil {
		c.Write([]byte{5, 1, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	go io.Copy(up, c)
	io.Copy(c, up)
}

func itoa(v uint16) string {
	var b []byte
	for ; v > 0 || len(b) == 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// TestSyncThroughSOCKS: `candor sync pull --socks` hands the .onion name to the proxy (never
// resolving it locally) and gets a complete bundle; without --socks an .onion URL is refused.
func TestSyncThroughSOCKS(t *testing.T) {
	srv, err := synctest.Start(filepath.Join(t.TempDir(), "server"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a := newReviewer(t, srv, "Alice")
	proxy := newSOCKS5(t, strings.TrimPrefix(srv.URL, "http://"))
	const onion = "http://abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzab.onion"
	out := filepath.Join(t.TempDir(), "bundle")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"sync", "pull", "--server", onion, "--token", a.token, "--socks", proxy.ln.Addr().String(),
		"-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("pull through SOCKS: exit %d: %s", code, stderr.String())
	}
	if got := <-proxy.names; got != strings.TrimPrefix(onion, "http://")+":80" {
		t.Errorf("proxy asked for %q", got)
	}
	if _, err := a.in.Import(out); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"sync", "pull", "--server", onion, "--token", a.token, "-o", out + "2"}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "needs --socks") {
		t.Errorf("onion without --socks: exit %d, %s", code, stderr.String())
	}
	// A SOCKS port nothing listens on: the error says to start tor with that SocksPort.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	stderr.Reset()
	if code := run([]string{"sync", "pull", "--server", onion, "--token", a.token, "--socks", closed, "-o", out + "3"},
		&stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "hint: nothing answers on --socks "+closed+": start tor") {
		t.Errorf("closed SOCKS port: exit %d, %s", code, stderr.String())
	}
}

// TestPullFailureWritesNothing: a refused pull leaves neither the bundle nor a temporary file.
func TestPullFailureWritesNothing(t *testing.T) {
	srv, err := synctest.Start(filepath.Join(t.TempDir(), "server"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"sync", "pull", "--server", srv.URL, "--token", "wrong", "-o", filepath.Join(dir, "bundle")}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "unknown or missing token") {
		t.Errorf("wrong token: exit %d, %s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "wrong") {
		t.Errorf("the error repeats the token: %s", stderr.String())
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, ".*")); len(files) != 0 {
		t.Errorf("temporary files left behind: %v", files)
	}
}
