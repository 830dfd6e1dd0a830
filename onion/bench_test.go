package onion

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"candor/internal/testenv"

	"golang.org/x/net/proxy"
)

// streamSize is what BenchmarkPlainStream sends per iteration.
func streamSize() int { return int(testenv.BenchSize(64<<20, 2<<20)) }

// BenchmarkPlainStream measures a plain byte stream (no HTTP) through the private Tor network: the client
// writes 64 MiB to the public onion through the SOCKS port, the server reads it from the unix socket and
// answers with one byte once it has everything. Compare MB/s with the HTTP upload benchmark.
func BenchmarkPlainStream(b *testing.B) {
	n := network(b)
	svc := startStreamService(b)
	d, err := proxy.SOCKS5("tcp", n.SOCKSAddr(), nil, &net.Dialer{})
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	rand.Read(chunk)
	conn := dialRetry(b, d.(proxy.ContextDialer), svc.PublicAddr()+":80")
	conn.Close()
	size := streamSize()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		conn := dialRetry(b, d.(proxy.ContextDialer), svc.PublicAddr()+":80")
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := conn.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		ack := make([]byte, 1)
		if _, err := io.ReadFull(conn, ack); err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
}

// startStreamService starts a service whose public listener counts streamSize bytes, then acks.
func startStreamService(b *testing.B) *Service {
	size := int64(streamSize())
	svc := startService(b, newTestKeys(b), nil, func(c *Config) { c.PoW = false })
	svc.Public().Close() // startService's HTTP server gets no connection: take over the socket
	l, err := listenUnix(svc.socketPath("public"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.CopyN(io.Discard, c, size); err == nil {
					c.Write([]byte{1})
				}
			}()
		}
	}()
	return svc
}

func dialRetry(b *testing.B, d proxy.ContextDialer, addr string) net.Conn {
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			b.Fatalf("dial %s: %v", addr, err)
		}
		time.Sleep(time.Second)
	}
}
