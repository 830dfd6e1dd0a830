package onion

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"candor/internal/torcircuit"
	"candor/onion/onionkey"

	"golang.org/x/net/proxy"
)

func TestPublicServiceTorrc(t *testing.T) {
	s := &Service{cfg: Config{DataDir: "/d", PoW: true, ExportCircuitID: true, MaxStreams: 7}}
	got := strings.Join(s.publicServiceTorrc(), "\n")
	for _, want := range []string{"HiddenServiceDir /d/hs-public", "HiddenServicePort 80 unix:/d/sockets/public.sock",
		"HiddenServiceExportCircuitID haproxy", "HiddenServicePoWDefensesEnabled 1", "HiddenServiceMaxStreams 7",
		"HiddenServiceMaxStreamsCloseCircuit 1"} {
		if !strings.Contains(got, want+"\n") && !strings.HasSuffix(got, want) {
			t.Errorf("torrc lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(s.torrc(), "HiddenServiceExportCircuitID haproxy") {
		t.Error("torrc() lacks the public service's lines")
	}
	s.cfg.ExportCircuitID = false
	if strings.Contains(s.torrc(), "HiddenService") {
		t.Error("torrc() configures a HiddenService without ExportCircuitID")
	}
	sp := onionSpec{key: newTestKeys(t).public, socket: "/s", maxStreams: 5, clientAuth: []string{"K"}}
	if cmd := sp.command(); !strings.Contains(cmd, "Flags=DiscardPK,V3Auth,MaxStreamsCloseCircuit MaxStreams=5 Port=") {
		t.Errorf("ADD_ONION without the MaxStreams arguments: %s", strings.Replace(cmd, torKeyBlob(sp.key), "KEY", 1))
	}
}

func TestHSKeyFiles(t *testing.T) {
	k := newTestKeys(t).public
	secret, public := hsKeyFiles(k)
	if len(secret) != 96 || string(secret[:29]) != "== ed25519v1-secret: type0 ==" || secret[29] != 0 {
		t.Errorf("secret key file: %d bytes, header %q", len(secret), secret[:32])
	}
	if len(public) != 64 || string(public[:29]) != "== ed25519v1-public: type0 ==" ||
		!ed25519.PublicKey(public[32:]).Equal(k.Public()) {
		t.Errorf("public key file: %d bytes, header %q", len(public), public[:32])
	}
}

// circuitServer serves the public listener of svc through torcircuit: each connection gets its circuit
// identifier as a first line, then every line the client sends echoed back; it stays open until the
// client closes it.
func circuitServer(svc *Service) {
	ln := torcircuit.NewListener(svc.Public(), 0)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				id, ok := torcircuit.FromConn(c)
				if !ok {
					return
				}
				fmt.Fprintf(c, "%d\n", id)
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "echo %s\n", sc.Text())
				}
			}()
		}
	}()
}

// startExportService starts a public service with circuit export and MaxStreams on the private network.
func startExportService(t *testing.T, k testKeys, maxStreams int) *Service {
	t.Helper()
	n := network(t)
	cfg := Config{DataDir: t.TempDir(), ExtraTorrc: n.ServiceTorrc(), PublicKey: k.public,
		RestrictedKey: k.restricted, PoW: true, ExportCircuitID: true, MaxStreams: maxStreams,
		BootstrapTimeout: 60 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	svc, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { svc.Close() })
	circuitServer(svc)
	return svc
}

// stream is one connection to the circuit server, on the circuit of its SOCKS credentials.
type stream struct {
	net.Conn
	r       *bufio.Reader
	circuit uint32
}

// openStream dials addr through socks with the SOCKS user name user (tor isolates streams with different
// SOCKS credentials on different circuits: IsolateSOCKSAuth) and reads the circuit line.
func openStream(socks, user, addr string) (*stream, error) {
	d, err := proxy.SOCKS5("tcp", socks, &proxy.Auth{User: user, Password: "x"}, &net.Dialer{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", addr+":80")
	if err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("read the circuit line: %w", err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(line), 10, 32)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetReadDeadline(time.Time{})
	return &stream{Conn: c, r: r, circuit: uint32(id)}, nil
}

// mustStream retries openStream for up to 90 s (the descriptor takes a few seconds to reach the HSDirs).
func mustStream(t *testing.T, socks, user, addr string) *stream {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		s, err := openStream(socks, user, addr)
		if err == nil {
			t.Cleanup(func() { s.Close() })
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream to %s as %q: %v", addr, user, err)
		}
		time.Sleep(time.Second)
	}
}

func TestExportCircuitID(t *testing.T) {
	n := network(t)
	k := newTestKeys(t)
	const maxStreams = 4
	svc := startExportService(t, k, maxStreams)
	if got, want := svc.PublicAddr(), onionkey.AddressOf(k.public.Public().(ed25519.PublicKey)); got != want {
		t.Fatalf("PublicAddr = %s, want %s", got, want)
	}
	socks, addr := n.SOCKSAddr(), svc.PublicAddr()

	a1 := mustStream(t, socks, "alice", addr)
	a2 := mustStream(t, socks, "alice", addr)
	b1 := mustStream(t, socks, "bob", addr)
	if a1.circuit != a2.circuit {
		t.Errorf("two streams on one circuit got circuits %d and %d", a1.circuit, a2.circuit)
	}
	if a1.circuit == b1.circuit {
		t.Errorf("streams on two circuits (two SOCKS users) both got circuit %d", a1.circuit)
	}
	t.Logf("circuits: alice %d, alice %d, bob %d", a1.circuit, a2.circuit, b1.circuit)

	// A client's own PROXY line arrives as data after tor's header.
	fmt.Fprintf(a1, "%s", torcircuit.Format(torcircuit.Header{Circuit: 12345, VirtualPort: 80}))
	a1.SetReadDeadline(time.Now().Add(30 * time.Second))
	if line, err := a1.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "echo PROXY TCP6") {
		t.Errorf("spoofed header: got %q, %v; want it echoed as data", line, err)
	}

	t.Run("max streams closes the circuit", func(t *testing.T) {
		var held []*stream
		for range maxStreams {
			held = append(held, mustStream(t, socks, "mallory", addr))
		}
		// One stream more than MaxStreams: tor closes the whole circuit.
		extra, err := openStream(socks, "mallory", addr)
		if err == nil {
			extra.Close()
		}
		for i, s := range held {
			s.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := s.r.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("stream %d of the flooding circuit: read %v, want it closed by tor", i, err)
			}
		}
		again := mustStream(t, socks, "mallory", addr)
		if again.circuit == held[0].circuit {
			t.Errorf("after the circuit was closed, a new stream got the same circuit %d", again.circuit)
		}
		// Other circuits are untouched.
		fmt.Fprintln(b1, "still here")
		b1.SetReadDeadline(time.Now().Add(30 * time.Second))
		if line, err := b1.r.ReadString('\n'); err != nil || line != "echo still here\n" {
			t.Errorf("another circuit's stream: got %q, %v", line, err)
		}
	})

	dir := svc.hsDir()
	if _, err := os.Stat(filepath.Join(dir, secretKeyFile)); err != nil {
		t.Errorf("while tor runs the key file must exist: %v", err)
	}
	svc.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Close, stat %s: %v; want it removed", dir, err)
	}
	// The same key gives the same address on the next start.
	again := startExportService(t, k, maxStreams)
	if again.PublicAddr() != addr {
		t.Fatalf("address changed across restart")
	}
	s := mustStream(t, freshClient(t, n), "carol", again.PublicAddr())
	if s.circuit == 0 {
		t.Errorf("after restart: circuit 0")
	}
}

// Introspection for the tests: the watchdog's view of the tor process.

// Healthy reports whether tor runs and has bootstrapped.
func (s *Service) Healthy() bool { return s.State() == StateRunning }

// Restarts returns how many times the watchdog has restarted tor.
func (s *Service) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// PID returns the pid of the current tor process, or 0 while there is none.
func (s *Service) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inst == nil {
		return 0
	}
	return s.inst.pid()
}

// pid returns the tor process's pid.
func (inst *instance) pid() int { return inst.proc.cmd.Process.Pid }
