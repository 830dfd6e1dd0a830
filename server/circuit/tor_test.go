package circuit_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/net/proxy"

	"candor/internal/torcircuit"
	"candor/onion"
	"candor/onion/onionkey"
	"candor/onion/tornet"
	"candor/server/circuit"
)

// app is a small reporter-facing app that spends the keeper's budgets as Candor's handlers will:
// POST /report draws on Submit, POST /login on Login and then does real Argon2id work in one of two
// KDF slots (the server's global cap).
type app struct {
	k   *circuit.Keeper
	kdf chan struct{}
}

type keyCtx struct{}

func newApp() *app { return &app{k: circuit.New(circuit.Config{}), kdf: make(chan struct{}, 2)} }

// server returns an HTTP server whose requests carry their connection's key.
func (a *app) server() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		if !a.allow(w, r, circuit.Submit) {
			return
		}
		io.WriteString(w, "report accepted")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if !a.allow(w, r, circuit.Login) {
			return
		}
		a.kdf <- struct{}{}
		argon2.IDKey([]byte("receipt code"), []byte("installation salt"), 1, 16<<10, 1, 32)
		<-a.kdf
		io.WriteString(w, "logged in")
	})
	return &http.Server{
		Handler: mux,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			key := circuit.Global
			if id, ok := torcircuit.FromConn(c); ok {
				key = circuit.CircuitKey(id)
			}
			return context.WithValue(ctx, keyCtx{}, key)
		},
		ReadHeaderTimeout: 20 * time.Second,
	}
}

// allow answers the over-budget page when the request's key has no budget left for kind.
func (a *app) allow(w http.ResponseWriter, r *http.Request, kind circuit.Kind) bool {
	d := a.k.Allow(r.Context().Value(keyCtx{}).(circuit.Key), kind)
	if d.OK {
		return true
	}
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintf(w, "Too many %s from this connection. Wait %d minutes, or choose New Identity in Tor Browser.",
		kind, d.RetryMinutes())
	return false
}

// client posts through socks with its own SOCKS user name, so tor puts it on a circuit of its own.
type client struct {
	http *http.Client
	base string
}

func newClient(socks, user, addr string) *client {
	d, _ := proxy.SOCKS5("tcp", socks, &proxy.Auth{User: user, Password: "x"}, &net.Dialer{})
	return &client{base: "http://" + addr, http: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}}}
}

func (c *client) post(path string) (int, string, error) {
	resp, err := c.http.Post(c.base+path, "text/plain", strings.NewReader("x"))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// mustPost posts, retrying transport errors for up to 90 s (the descriptor is being published).
func (c *client) mustPost(t *testing.T, path string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body, err := c.post(path)
		if err == nil {
			return code, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST %s: %v", path, err)
		}
		time.Sleep(time.Second)
	}
}

func TestBudgetsThroughTor(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a private Tor network; skipped in -short mode")
	}
	n := tornet.ForTest(t)
	pub, _ := onionkey.GenerateKey()
	restr, _ := onionkey.GenerateKey()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	svc, err := onion.Start(ctx, onion.Config{DataDir: filepath.Join(t.TempDir(), "tor"), ExtraTorrc: n.ServiceTorrc(),
		PublicKey: pub, RestrictedKey: restr, PoW: true, ExportCircuitID: true,
		MaxStreams: onion.DefaultMaxStreams, BootstrapTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	a := newApp()
	srv := a.server()
	go srv.Serve(torcircuit.NewListener(svc.Public(), 0))
	t.Cleanup(func() { srv.Close() })

	alice := newClient(n.SOCKSAddr(), "alice", svc.PublicAddr())
	bob := newClient(n.SOCKSAddr(), "bob", svc.PublicAddr())

	t.Run("submissions", func(t *testing.T) {
		budget := circuit.DefaultBudgets().Rates[circuit.Submit].Burst
		for i := range budget {
			if code, body := alice.mustPost(t, "/report"); code != http.StatusOK {
				t.Fatalf("alice's report %d: %d %q", i+1, code, body)
			}
		}
		code, body := alice.mustPost(t, "/report")
		if code != http.StatusTooManyRequests || !strings.Contains(body, "New Identity") {
			t.Fatalf("alice past her budget: %d %q, want 429 with the over-budget page", code, body)
		}
		if code, body := bob.mustPost(t, "/report"); code != http.StatusOK {
			t.Fatalf("bob, on his own circuit, right after alice was refused: %d %q", code, body)
		}
	})

	t.Run("logins", func(t *testing.T) {
		const attempts = 12
		budget := circuit.DefaultBudgets().Rates[circuit.Login].Burst
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for range attempts {
			wg.Go(func() {
				code, _ := alice.mustPost(t, "/login")
				mu.Lock()
				codes[code]++
				mu.Unlock()
			})
		}
		start := time.Now()
		code, body := bob.mustPost(t, "/login")
		bobTook := time.Since(start)
		wg.Wait()
		if code != http.StatusOK {
			t.Fatalf("bob's login while alice floods: %d %q", code, body)
		}
		if codes[http.StatusOK] != budget || codes[http.StatusTooManyRequests] != attempts-budget {
			t.Fatalf("alice's %d logins: %v, want %d accepted and the rest refused", attempts, codes, budget)
		}
		t.Logf("bob's login took %v while alice's %d logins ran (%d refused)", bobTook, attempts,
			codes[http.StatusTooManyRequests])
	})
}

// Without circuits (--dev-listen) every request has the Global key, which has no budget: the server's
// global caps stay the only limits.
func TestNoCircuitFallsBackToGlobal(t *testing.T) {
	a := newApp()
	srv := a.server()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := &client{http: &http.Client{Timeout: 10 * time.Second}, base: "http://" + ln.Addr().String()}
	for i := range 10 {
		if code, body, err := c.post("/report"); err != nil || code != http.StatusOK {
			t.Fatalf("report %d without circuits: %d %q %v", i+1, code, body, err)
		}
	}
	if a.k.Len() != 0 {
		t.Errorf("keeper remembers %d circuits on a listener without circuits", a.k.Len())
	}
}
