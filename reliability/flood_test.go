package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	crand "crypto/rand"

	"candor/candortest"
	"candor/crypto"
	"candor/server"
)

// TestLoginFlood sends 200 concurrent receipt logins (well-formed codes of no case, so each costs a
// full Argon2id derivation) to `candor serve` with the default KDF (64 MiB, 4 at a time). Each
// gets a fixed answer — wrong code, or busy once the KDF semaphore's wait runs out — and the
// server's peak anonymous memory stays under the soft limit that candor serve derives from the
// semaphore: 496 MiB, the soft limit before issue 13 gave uploads a memory budget of their own (the
// runtime's limit, server.MemoryBudget, is now 1248 MiB, so this bound is the stricter one).
func TestLoginFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("200 Argon2id derivations of 64 MiB; skipped with -short")
	}
	const logins, budgetMiB = 200, 48 + 8*24 + 4*64
	in := newInstallation(t, t.TempDir())
	p := in.serve(t)
	stop := make(chan struct{})
	peak := candortest.PeakRSS(p.Cmd.Process.Pid, 10*time.Millisecond, stop)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range logins {
		wg.Go(func() {
			code, err := crypto.NewReceipt(crand.Reader)
			if err != nil {
				t.Error(err)
				return
			}
			status, _, err := login(p.URL, code.String())
			if err != nil {
				t.Errorf("login: %v", err)
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	peakMiB := float64(<-peak) / 1024
	for status, n := range statuses {
		if status != http.StatusForbidden && status != http.StatusServiceUnavailable {
			t.Errorf("%d logins answered %d; want 403 (wrong code) or 503 (busy)", n, status)
		}
	}
	t.Logf("%d concurrent logins: answers %v; peak anonymous RSS %.1f MiB (4 derivations hold 256 MiB; soft limit %d MiB)",
		logins, statuses, peakMiB, budgetMiB)
	// The limit is soft: allow the runtime's overshoot of 10 %.
	if limit := 1.1 * budgetMiB; peakMiB > limit {
		t.Errorf("peak anonymous RSS %.1f MiB, want at most %.0f MiB", peakMiB, limit)
	}
}

// TestSlowloris holds 500 connections open, each trickling a request header a byte at a time, and
// checks that a real reporter meanwhile loads the landing page and submits a report.
func TestSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("500 connections; skipped with -short")
	}
	e := newInproc(t, server.Limits{})
	const slow = 500
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range slow {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatalf("opening slow connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		c.Write([]byte("POST /report HTTP/1.1\r\nHost: x\r\n"))
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // keep trickling for as long as the reporter needs
		for i := 0; ; i++ {
			for _, c := range conns {
				c.Write([]byte{'X'})
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	resp, err := client.Get(e.url + "/")
	if err != nil {
		t.Fatalf("landing page under slowloris: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("landing page under slowloris: status %d, want 200", resp.StatusCode)
	}
	status, code, _, err := report(e.url, "real reporter", "r.txt", []byte("evidence"))
	if err != nil || status != http.StatusOK || code == "" {
		t.Errorf("report under slowloris: status %d, receipt %q, %v; want 200 with a receipt", status, code, err)
	}
}

// smuggled is a complete report request: if it were ever parsed as a request of its own, a case
// would appear.
func smuggled() string {
	body, ct := reportBody("smuggled", "s.txt", []byte("smuggled"))
	return fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", ct, len(body), body)
}

// TestSmuggling sends requests that try to hide a second request (a complete report) in the body
// of the first — conflicting lengths, obfuscated chunking, a body its handler never reads — and
// checks that the hidden report never reaches the handler (no case is stored) and that nothing
// else but a refusal or the first request's own answer comes back.
func TestSmuggling(t *testing.T) {
	e := newInproc(t, server.Limits{})
	s := smuggled()
	tests := []struct {
		name, req string
		okFirst   bool // the outer request itself is legitimate and may succeed
	}{
		{"CL and TE", "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + s, false},
		{"TE and CL", "POST /followup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 200\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n0\r\n\r\n" + s, false},
		{"two CL", fmt.Sprintf("POST /followup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n%s", len(s), s), false},
		{"TE xchunked", "POST /followup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + s, false},
		{"TE chunked, identity", "POST /followup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + s, false},
		{"TE with space", "POST /followup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + s, false},
		{"GET with unread body", fmt.Sprintf("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(s), s), true},
		{"logout with unread body", fmt.Sprintf("POST /logout HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(s), s), true},
		{"404 with unread body", fmt.Sprintf("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(s), s), false},
		// fasthttp reads the first 8 KiB of a body before the handler runs: send them.
		{"oversize CL, body unread", "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 99999999999\r\n\r\n" + strings.Repeat("-", 9000) + s, false},
		{"bare LF", "POST /followup HTTP/1.1\nHost: x\nContent-Length: 0\nTransfer-Encoding: chunked\n\n0\n\n" + s, false},
	}
	// The control: the hidden request on its own is a working report.
	before := stateOf(t, e.st)
	if got := exchange(t, e.addr, s); len(got) != 1 || got[0] != http.StatusOK || stateOf(t, e.st).Cases != before.Cases+1 {
		t.Fatalf("the smuggled report alone: answers %v, want one 200 and a new case", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := stateOf(t, e.st)
			statuses := exchange(t, e.addr, tt.req)
			t.Logf("answers: %v", statuses)
			for i, st := range statuses {
				if st < 400 && !(i == 0 && tt.okFirst) {
					t.Errorf("answer %d has status %d; want a refusal (answers %v)", i+1, st, statuses)
				}
			}
			if len(statuses) > 1 {
				t.Errorf("%d answers %v; want one (the hidden request was parsed)", len(statuses), statuses)
			}
			if after := stateOf(t, e.st); after.Cases != before.Cases || after.Blobs != before.Blobs || after.Pending != before.Pending {
				t.Errorf("store went from %d cases, %d pending blobs to %d, %d: the hidden report reached the handler",
					before.Cases, before.Pending, after.Cases, after.Pending)
			}
		})
	}
}

// exchange writes raw to a new connection and returns the status of every answer read until the
// server closes the connection or stays silent (20 s for the first answer, 1 s after that).
func exchange(t *testing.T, addr, raw string) []int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var statuses []int
	for {
		// The first answer may wait for a receipt's derivation; a second one would be the hidden
		// request's, whose upload (a pending blob) is visible in the store at once.
		wait := time.Second
		if len(statuses) == 0 {
			wait = 20 * time.Second
		}
		c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return statuses
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
}

// TestHeaderDeadline checks Limits.HeaderTimeout from both sides: a connection that trickles its
// headers (each byte well within the per-read idle time) is closed, while an upload whose body
// trickles for longer than the header timeout is stored.
func TestHeaderDeadline(t *testing.T) {
	e := newInproc(t, server.Limits{HeaderTimeout: time.Second, IdleRead: 10 * time.Second})
	t.Run("trickled headers", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		closed := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(closed) }()
		header := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 100)
		for i := range len(header) { // 10 s at most; the server cuts it after about 1 s
			select {
			case <-closed:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte{header[i]}); err != nil {
				return
			}
		}
		t.Errorf("the server kept a connection that trickled %d header bytes over 10 s", len(header))
	})
	t.Run("slow body", func(t *testing.T) {
		body, ct := reportBody("slow but steady", "slow.bin", payload(9, 64<<10))
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < len(body); off += 8 << 10 {
				time.Sleep(300 * time.Millisecond) // 8 pieces: about 2.4 s, more than HeaderTimeout
				pw.Write(body[off:min(len(body), off+8<<10)])
			}
			pw.Close()
		}()
		resp, err := client.Post(e.url+"/report", ct, pr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		if code := candortest.ReceiptCode(page); resp.StatusCode != http.StatusOK || code == "" {
			t.Errorf("slow upload: status %d, receipt %v; want 200 with a receipt", resp.StatusCode, code != "")
		}
	})
}
