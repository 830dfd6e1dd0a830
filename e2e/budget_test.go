package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"candor/candortest"
	"candor/onion"
	"candor/server/circuit"
)

// circuitClient is a reporter on a circuit of their own: tor isolates streams by SOCKS user name
// (IsolateSOCKSAuth, on by default), as Tor Browser isolates sites and identities.
type circuitClient struct {
	http  *http.Client
	base  string
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	onion string
}

func newCircuitClient(socks, user, onion string) *circuitClient {
	d, _ := proxy.SOCKS5("tcp", socks, &proxy.Auth{User: user, Password: "x"}, &net.Dialer{})
	dial := d.(proxy.ContextDialer).DialContext
	return &circuitClient{base: "http://" + onion, dial: dial, onion: onion,
		http: &http.Client{Timeout: requestTimeout, Transport: &http.Transport{DialContext: dial},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do posts body and returns the status and page, retrying transport errors for reachTimeout (the
// first requests of a new circuit may fail while it is built).
func (c *circuitClient) do(t *testing.T, path, ctype string, body []byte) (int, string) {
	t.Helper()
	deadline := time.Now().Add(reachTimeout)
	for {
		resp, err := c.http.Post(c.base+path, ctype, bytes.NewReader(body))
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil {
				return resp.StatusCode, string(b)
			}
			err = rerr
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST %s: %v", path, err)
		}
		time.Sleep(time.Second)
	}
}

func (c *circuitClient) report(t *testing.T, msg string) (int, string) {
	t.Helper()
	body, ct := candortest.Report(msg, nil)
	return c.do(t, "/report", ct, body)
}

func (c *circuitClient) login(t *testing.T, code string) (int, string) {
	t.Helper()
	return c.do(t, "/followup", "application/x-www-form-urlencoded", []byte(url.Values{"receipt": {code}}.Encode()))
}

// TestBudgetsThroughCandor runs candor serve on the private Tor network, where its public service
// exports circuit identifiers, and checks the per-circuit budgets from the outside: one circuit past
// its report budget gets the over-budget page while a second circuit reports at once; logins past the
// budget on one circuit are refused while another circuit logs in; a circuit that opens more than
// MaxStreams streams is closed by tor while another circuit is served.
func TestBudgetsThroughCandor(t *testing.T) {
	t.Parallel()
	skipShort(t)
	n := network(t)
	in := newInstall(t, candorBin(t, raceEnabled), "Alice")
	srv := startServe(t, in, n)
	if code, _ := waitReachable(t, n.SOCKSAddr(), "http://"+srv.public+"/"); code != http.StatusOK {
		t.Fatalf("GET / through the public onion: status %d", code)
	}
	budgets := circuit.DefaultBudgets()
	alice := newCircuitClient(n.SOCKSAddr(), "alice", srv.public)
	bob := newCircuitClient(n.SOCKSAddr(), "bob", srv.public)
	var bobCode string

	t.Run("reports", func(t *testing.T) {
		for i := range budgets.Rates[circuit.Submit].Burst {
			if st, page := alice.report(t, "alice"); st != http.StatusOK || candortest.ReceiptCode([]byte(page)) == "" {
				t.Fatalf("alice's report %d: status %d", i+1, st)
			}
		}
		st, page := alice.report(t, "one too many")
		if st != http.StatusTooManyRequests || !strings.Contains(page, "New Identity") {
			t.Fatalf("alice past her budget: status %d, want 429 with the over-budget page\n%.500s", st, page)
		}
		st, page = bob.report(t, "bob")
		if bobCode = candortest.ReceiptCode([]byte(page)); st != http.StatusOK || bobCode == "" {
			t.Fatalf("bob right after alice was refused: status %d, want 200 with a receipt", st)
		}
	})

	t.Run("logins", func(t *testing.T) {
		if bobCode == "" {
			t.Skip("no receipt from the reports step")
		}
		const attempts = 10 // fewer than MaxStreams at once, so that the circuit stays
		wrong := "abacus " + strings.Join(strings.Fields(bobCode)[1:], " ")
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		for range attempts {
			wg.Go(func() {
				st, _ := alice.login(t, wrong)
				mu.Lock()
				counts[st]++
				mu.Unlock()
			})
		}
		st, _ := bob.login(t, bobCode)
		wg.Wait()
		if st != http.StatusSeeOther {
			t.Errorf("bob's login while alice floods: status %d, want 303", st)
		}
		burst := budgets.Rates[circuit.Login].Burst
		if counts[http.StatusForbidden] != burst || counts[http.StatusTooManyRequests] != attempts-burst {
			t.Errorf("alice's %d wrong logins: %v, want %d refused as wrong (after Argon2id) and %d over budget",
				attempts, counts, burst, attempts-burst)
		}
	})

	t.Run("streams", func(t *testing.T) {
		carol := newCircuitClient(n.SOCKSAddr(), "carol", srv.public)
		if st, _ := carol.do(t, "/nowhere", "text/plain", nil); st != http.StatusNotFound {
			t.Fatalf("carol's first request: %d", st) // builds carol's circuit
		}
		// Open streams on carol's circuit and keep them open (a request header never finished).
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		const want = 30 // MaxStreams is 20
		failed := 0
		for range want {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			c, err := carol.dial(ctx, "tcp", srv.public+":80")
			cancel()
			if err != nil {
				failed++
				continue
			}
			c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
			conns = append(conns, c)
		}
		// Once the circuit is closed, every stream on it is gone: reads end. (The server's own header
		// timeout is 20 s; the reads give up after 8 s.) Streams dialled after the closing are on a
		// new circuit of carol's and stay open.
		var closed atomic.Int32
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() {
				c.SetReadDeadline(time.Now().Add(8 * time.Second))
				if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					closed.Add(1)
				}
			})
		}
		wg.Wait()
		t.Logf("carol: %d streams opened, %d refused; %d of the opened ones closed", len(conns), failed, closed.Load())
		if int(closed.Load())+failed < onion.DefaultMaxStreams {
			t.Errorf("carol opened %d streams on one circuit; %d were closed or refused, want the first circuit's %d+ closed",
				want, int(closed.Load())+failed, onion.DefaultMaxStreams)
		}
		if st, _ := bob.do(t, "/nowhere", "text/plain", nil); st != http.StatusNotFound {
			t.Errorf("bob after carol's circuit was closed: %d, want 404 (served)", st)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
