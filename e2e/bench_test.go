package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"candor/internal/testenv"
	"candor/onion"
	"candor/onion/onionkey"
	"candor/onion/tornet"
)

// benchSize is the payload of BenchmarkOnionUpload: one upload and one plain stream of it.
func benchSize() int { return int(testenv.BenchSize(64<<20, 2<<20)) }

// BenchmarkOnionUpload compares, in the same run and through the same private Tor network and SOCKS
// client, a 64 MiB report upload (POST /report, multipart, to candor serve's public onion, built
// without the race detector) with a plain 64 MiB byte stream to a sink that is another onion
// service (its own tor, started by onion.Start, reading from the unix socket and discarding). The
// ratio upload/stream says whether candor is the bottleneck behind tor (aim: ≥ 0.8). The upload's
// time includes the server's work after the last byte: sealing the tail, the store commit and the
// Argon2id derivation of the receipt.
//
//	go test -run '^$' -bench OnionUpload -benchtime 1x ./e2e
func BenchmarkOnionUpload(b *testing.B) {
	n := network(b)
	in := newInstall(b, candorBin(b, false), "Alice")
	srv := startServe(b, in, n)
	sink := startSink(b, n)
	socks := n.SOCKSAddr()
	waitReachable(b, socks, "http://"+srv.public+"/")
	size := benchSize()
	payload := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(payload)
	stream(b, socks, "warm-up", sink.PublicAddr(), payload[:1<<20]) // the sink's descriptor is fetched

	var up, plain time.Duration
	var cpu float64
	pid := srv.cmd.Process.Pid
	i := 0
	for b.Loop() {
		// A new SOCKS username per iteration makes tor build new circuits (IsolateSOCKSAuth), so
		// that the iterations sample several paths through the network's relays for both services.
		i++
		plain += stream(b, socks, fmt.Sprint(i), sink.PublicAddr(), payload)
		before := cpuSeconds(pid)
		up += upload(b, socks, fmt.Sprint(i), srv.public, payload)
		cpu += cpuSeconds(pid) - before
	}
	mib := float64(size) / (1 << 20) * float64(b.N)
	b.ReportMetric(mib/up.Seconds(), "upload-MiB/s")
	b.ReportMetric(mib/plain.Seconds(), "stream-MiB/s")
	b.ReportMetric(plain.Seconds()/up.Seconds(), "ratio")
	b.ReportMetric(cpu/float64(b.N), "candor-cpu-s/op")
	b.ReportMetric(0, "ns/op")
}

// startSink publishes an onion service on n that discards what each connection sends (see sinkConn).
func startSink(b *testing.B, n *tornet.Network) *onion.Service {
	b.Helper()
	dir, err := os.MkdirTemp("", "csink")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	pub, _ := onionkey.GenerateKey()
	restricted, _ := onionkey.GenerateKey()
	ctx, cancel := context.WithTimeout(context.Background(), serveTimeout)
	defer cancel()
	svc, err := onion.Start(ctx, onion.Config{DataDir: dir, ExtraTorrc: n.ServiceTorrc(), PublicKey: pub,
		RestrictedKey: restricted, PoW: true, BootstrapTimeout: serveTimeout})
	if err != nil {
		b.Fatalf("sink service: %v", err)
	}
	b.Cleanup(func() { svc.Close() })
	go func() {
		for {
			c, err := svc.Public().Accept()
			if err != nil {
				return
			}
			go sinkConn(c)
		}
	}()
	return svc
}

// sinkConn reads a 4-byte big-endian length, then that many bytes, and answers one byte.
func sinkConn(c net.Conn) {
	defer c.Close()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	size := int64(hdr[0])<<24 | int64(hdr[1])<<16 | int64(hdr[2])<<8 | int64(hdr[3])
	if _, err := io.CopyN(io.Discard, c, size); err == nil {
		c.Write([]byte{1})
	}
}

// isolated returns a SOCKS5 dialer whose streams tor keeps on circuits of their own per isolation.
func isolated(b *testing.B, socks, isolation string) proxy.ContextDialer {
	b.Helper()
	d, err := proxy.SOCKS5("tcp", socks, &proxy.Auth{User: "bench-" + isolation, Password: "x"}, &net.Dialer{})
	if err != nil {
		b.Fatal(err)
	}
	return d.(proxy.ContextDialer)
}

// stream sends payload to the sink at addr through socks and returns the time until the sink
// acknowledged the last byte. It retries the connection for up to reachTimeout.
func stream(b *testing.B, socks, isolation, addr string, payload []byte) time.Duration {
	b.Helper()
	d := isolated(b, socks, isolation)
	deadline := time.Now().Add(reachTimeout)
	for {
		start := time.Now()
		conn, err := d.DialContext(context.Background(), "tcp", addr+":80")
		if err == nil {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Minute))
			size := len(payload)
			conn.Write([]byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)})
			if _, err := conn.Write(payload); err != nil {
				b.Fatalf("stream: %v", err)
			}
			if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
				b.Fatalf("stream: no acknowledgement: %v", err)
			}
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			b.Fatalf("dialling the sink: %v (gave up after %v)", err, reachTimeout)
		}
		time.Sleep(time.Second)
	}
}

// upload posts payload as one file of a report to the public onion addr through socks and returns
// the time until the receipt page arrived.
func upload(b *testing.B, socks, isolation, addr string, payload []byte) time.Duration {
	b.Helper()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("message", "benchmark upload through the onion")
	mw.CreateFormFile("file", "payload.bin")
	tail := fmt.Sprintf("\r\n--%s--\r\n", mw.Boundary())
	body := io.MultiReader(bytes.NewReader(head.Bytes()), bytes.NewReader(payload), strings.NewReader(tail))
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/report", body)
	if err != nil {
		b.Fatal(err)
	}
	req.ContentLength = int64(head.Len() + len(payload) + len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	start := time.Now()
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		DialContext: isolated(b, socks, isolation).DialContext, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		b.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`id="receipt-code"`)) {
		b.Fatalf("upload: status %d, no receipt on the page", resp.StatusCode)
	}
	return elapsed
}

// cpuSeconds returns the user+system CPU time of process pid (not of its children), from /proc.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var utime, stime float64
	fmt.Sscan(f[11], &utime) // fields 14 and 15 of stat, counted after "pid (comm)"
	fmt.Sscan(f[12], &stime)
	return (utime + stime) / 100 // USER_HZ
}
