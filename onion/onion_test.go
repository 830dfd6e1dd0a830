package onion

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"candor/onion/onionkey"
	"candor/onion/tornet"

	"golang.org/x/net/proxy"
)

// One private Tor network per test binary, started by the first test that needs it.
var (
	netOnce sync.Once
	testNet *tornet.Network
	netErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if testNet != nil {
		testNet.Close()
	}
	os.Exit(code)
}

// network returns the shared private Tor network, skipping tb when tor is missing or, for a test,
// in -short mode (a benchmark runs on a small input then: testenv.BenchSize).
func network(tb testing.TB) *tornet.Network {
	tb.Helper()
	if _, bench := tb.(*testing.B); testing.Short() && !bench {
		tb.Skip("needs a private Tor network; skipped in -short mode")
	}
	torPath, err := exec.LookPath("tor")
	if err != nil {
		tb.Skip("tor not found; install it: apt-get install tor")
	}
	netOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if testNet, netErr = tornet.Start(ctx, tornet.Options{TorPath: torPath}); netErr == nil {
			netErr = testNet.WaitReady(ctx)
		}
	})
	if netErr != nil {
		tb.Fatalf("private Tor network: %v", netErr)
	}
	return testNet
}

// testKeys are the identity keys of a test service.
type testKeys struct{ public, restricted ed25519.PrivateKey }

func newTestKeys(tb testing.TB) testKeys {
	tb.Helper()
	p, err := onionkey.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := onionkey.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return testKeys{p, r}
}

// startService starts a service on the private network, with an HTTP server on each listener that
// answers with the service's name. It is closed by tb.Cleanup.
func startService(tb testing.TB, k testKeys, clientAuth []string, mod func(*Config)) *Service {
	tb.Helper()
	n := network(tb)
	cfg := Config{
		DataDir:          tb.TempDir(),
		ExtraTorrc:       n.ServiceTorrc(),
		PublicKey:        k.public,
		RestrictedKey:    k.restricted,
		ClientAuth:       clientAuth,
		PoW:              true,
		BootstrapTimeout: 60 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	svc, err := Start(ctx, cfg)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { svc.Close() })
	serveName(svc.Public(), "public")
	serveName(svc.Restricted(), "restricted")
	return svc
}

func serveName(l net.Listener, name string) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+name)
	})}
	go srv.Serve(l)
}

// get fetches http://addr/ through the SOCKS5 proxy socks, once, within timeout.
func get(socks, addr string, timeout time.Duration) (string, error) {
	d, err := proxy.SOCKS5("tcp", socks, nil, &net.Dialer{})
	if err != nil {
		return "", err
	}
	c := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext, DisableKeepAlives: true},
	}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// fetch retries get until it succeeds or total elapses: a fresh descriptor takes a few seconds to reach
// the directories.
func fetch(tb testing.TB, socks, addr string, total time.Duration) string {
	tb.Helper()
	deadline := time.Now().Add(total)
	for {
		body, err := get(socks, addr, 30*time.Second)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET http://%s/ through %s: %v (gave up after %v)", addr, socks, err, total)
		}
		time.Sleep(time.Second)
	}
}

// freshClient starts a new tor client on the network, one that has cached no descriptor yet.
func freshClient(t *testing.T, n *tornet.Network) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	socks, err := n.NewClient(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return socks
}

func TestPublicAndRestart(t *testing.T) {
	n := network(t)
	k := newTestKeys(t)
	svc := startService(t, k, nil, nil)
	if got, want := svc.PublicAddr(), onionkey.AddressOf(k.public.Public().(ed25519.PublicKey)); got != want {
		t.Fatalf("PublicAddr = %s, want %s", got, want)
	}
	if !svc.Healthy() {
		t.Fatalf("State = %v after Start, want running", svc.State())
	}
	if got, want := fetch(t, n.SOCKSAddr(), svc.PublicAddr(), 90*time.Second), "hello public"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	pub, restr := svc.PublicAddr(), svc.RestrictedAddr()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := svc.State(), StateClosed; got != want {
		t.Fatalf("State after Close = %v, want %v", got, want)
	}

	again := startService(t, k, nil, nil)
	if again.PublicAddr() != pub || again.RestrictedAddr() != restr {
		t.Fatalf("addresses changed across restart: %s %s, want %s %s",
			again.PublicAddr(), again.RestrictedAddr(), pub, restr)
	}
	// A client that reached the first instance may keep its descriptor (and dead introduction points)
	// for minutes; a reporter's Tor Browser would be a fresh client, so ask through one.
	if got, want := fetch(t, freshClient(t, n), again.PublicAddr(), 90*time.Second), "hello public"; got != want {
		t.Fatalf("after restart: got %q, want %q", got, want)
	}
}

func TestRestrictedClientAuth(t *testing.T) {
	n := network(t)
	alicePub, alicePriv, _ := onionkey.NewClientAuthKey()
	bobPub, bobPriv, _ := onionkey.NewClientAuthKey()
	svc := startService(t, newTestKeys(t), []string{alicePub}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice, err := n.NewClient(ctx, []string{onionkey.ClientAuthLine(svc.RestrictedAddr(), alicePriv)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fetch(t, alice, svc.RestrictedAddr(), 90*time.Second), "hello restricted"; got != want {
		t.Fatalf("with the key: got %q, want %q", got, want)
	}
	// The shared client holds no key: the descriptor is undecryptable, tor refuses the stream.
	body, err := get(n.SOCKSAddr(), svc.RestrictedAddr(), 30*time.Second)
	if err == nil {
		t.Fatalf("without a key: got %q, want a SOCKS failure", body)
	}
	// 0xF4 (244), with tornet's ExtendedErrors: "onion service missing client authorization".
	if !strings.Contains(err.Error(), "unknown code: 244") {
		t.Errorf("without a key: got %v, want SOCKS reply 0xF4 (missing client authorization)", err)
	}

	addr := svc.RestrictedAddr()
	if err := svc.SetClientAuth([]string{alicePub, bobPub}); err != nil {
		t.Fatal(err)
	}
	if svc.RestrictedAddr() != addr {
		t.Fatalf("SetClientAuth changed the address")
	}
	bob, err := n.NewClient(ctx, []string{onionkey.ClientAuthLine(addr, bobPriv)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fetch(t, bob, addr, 90*time.Second), "hello restricted"; got != want {
		t.Fatalf("newly authorised key: got %q, want %q", got, want)
	}
}

func TestWatchdogRestartsTor(t *testing.T) {
	n := network(t)
	k := newTestKeys(t)
	var logBuf, torOut syncBuffer
	var onRestart atomic.Int32
	svc := startService(t, k, nil, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.TorOutput = &torOut
		c.OnRestart = func() { onRestart.Add(1) }
	})
	fetch(t, n.SOCKSAddr(), svc.PublicAddr(), 90*time.Second)

	pid := svc.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill tor (pid %d): %v", pid, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for svc.Restarts() == 0 || !svc.Healthy() {
		if time.Now().After(deadline) {
			t.Fatalf("watchdog: restarts=%d state=%v after 60s", svc.Restarts(), svc.State())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if svc.PID() == pid {
		t.Fatalf("tor pid unchanged after restart")
	}
	if n := onRestart.Load(); n != 1 {
		t.Errorf("OnRestart called %d times for one restart, want 1", n)
	}
	if got, want := fetch(t, freshClient(t, n), svc.PublicAddr(), 120*time.Second), "hello public"; got != want {
		t.Fatalf("after restart: got %q, want %q", got, want)
	}
	svc.Close()
	assertNoSecret(t, k, map[string][]byte{"log": logBuf.Bytes(), "tor output": torOut.Bytes()})
	assertNoSecretInDir(t, k, svc.cfg.DataDir)
	if !strings.Contains(logBuf.String(), "restarting") {
		t.Errorf("log does not mention the restart:\n%s", logBuf.String())
	}
}

func TestBootstrapTimeout(t *testing.T) {
	n := network(t)
	k := newTestKeys(t)
	cfg := Config{DataDir: t.TempDir(), ExtraTorrc: n.ServiceTorrc(), PublicKey: k.public,
		RestrictedKey: k.restricted, BootstrapTimeout: time.Millisecond}
	svc, err := Start(t.Context(), cfg)
	if err == nil {
		svc.Close()
		t.Skip("tor bootstrapped within 1ms")
	}
	if !errors.Is(err, ErrBootstrapTimeout) {
		t.Fatalf("got %v, want ErrBootstrapTimeout", err)
	}
	for _, want := range []string{"1ms", "status"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	assertNoSecret(t, k, map[string][]byte{"error": []byte(err.Error())})
	t.Logf("error: %v", err)
}

// secretForms are the ways a key could be written out: raw, hex, base64 of seed and of tor's blob.
func secretForms(k testKeys) []string {
	var forms []string
	for _, key := range []ed25519.PrivateKey{k.public, k.restricted} {
		forms = append(forms, string(key.Seed()), hex.EncodeToString(key.Seed()),
			base64.StdEncoding.EncodeToString(key.Seed()), base64.StdEncoding.EncodeToString(key),
			torKeyBlob(key), torKeyBlob(key)[:20])
	}
	return forms
}

func assertNoSecret(t *testing.T, k testKeys, texts map[string][]byte) {
	t.Helper()
	for name, b := range texts {
		for _, s := range secretForms(k) {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a form of an onion key", name)
			}
		}
	}
}

// assertNoSecretInDir checks every file tor and Start left in dir: ADD_ONION keys live in memory only.
func assertNoSecretInDir(t *testing.T, k testKeys, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		assertNoSecret(t, k, map[string][]byte{p: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }
