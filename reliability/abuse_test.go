package reliability

import (
	"bufio"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"candor/crypto"
	"candor/server"
)

// TestSlowDripDoesNotStarve (issue 13): 100 connections trickle a report body into POST /report at
// one byte a second while a normal 1 MiB report is sent and accepted. A chunked drip reaches the
// handler and holds 1 MiB of the upload memory (not the 8 MiB of an upload that seals data); one
// with a declared length is still in fasthttp's first read of its body. Either way, once its 60 s
// grace period has passed the server ends it (the rate floor: 1 KiB/s averaged; the first read's
// deadline, grace + 8 KiB at the floor), with the "upload interrupted" page.
func TestSlowDripDoesNotStarve(t *testing.T) {
	if testing.Short() {
		t.Skip("100 connections for 60+ s; skipped with -short")
	}
	const drips, limit = 100, 90 * time.Second
	in := newInstallation(t, t.TempDir())
	p := in.serve(t)
	addr := strings.TrimPrefix(p.URL, "http://")
	body, ct := reportBody("drip", "drip.bin", payload(7, 1<<20)) // large enough to be streamed
	// Half the drips declare their length (fasthttp reads their first 8 KiB before the handler runs),
	// half send chunks (the handler streams them at once, each holding its upload's base memory).
	heads := [2]string{
		fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, len(body)),
		fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n", ct),
	}
	type outcome struct {
		status int
		after  time.Duration
	}
	results := make(chan outcome, drips)
	start := time.Now()
	for i := range drips {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("drip %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		go func() {
			chunked := i%2 == 1
			c.Write([]byte(heads[i%2]))
			answered := make(chan int, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					answered <- 0 // closed without an answer
					return
				}
				resp.Body.Close()
				answered <- resp.StatusCode
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for off := 0; ; off++ {
				select {
				case st := <-answered:
					results <- outcome{st, time.Since(start)}
					return
				case <-tick.C:
				}
				if time.Since(start) > limit {
					results <- outcome{-1, time.Since(start)} // still held: the floor did not work
					return
				}
				if chunked {
					c.Write([]byte("1\r\n" + string(body[off]) + "\r\n"))
				} else {
					c.Write(body[off : off+1])
				}
			}
		}()
	}
	time.Sleep(5 * time.Second) // every drip has its upload open
	honest := time.Now()
	status, code, page, err := report(p.URL, "the real report", "evidence.bin", payload(8, 1<<20))
	if err != nil || status != http.StatusOK || code == "" {
		t.Fatalf("1 MiB report while %d connections drip: status %d, receipt %q, %v\n%.300s", drips, status, code, err, page)
	}
	t.Logf("1 MiB report accepted in %v while %d connections dripped", time.Since(honest).Round(time.Millisecond), drips)
	byStatus := map[int]int{}
	var last time.Duration
	for range drips {
		o := <-results
		byStatus[o.status]++
		last = max(last, o.after)
	}
	t.Logf("drips ended: %v (status: count; 0 = closed without an answer), the last after %v", byStatus, last.Round(time.Second))
	if byStatus[-1] > 0 {
		t.Errorf("%d drips still held their upload after %v", byStatus[-1], limit)
	}
	if byStatus[http.StatusBadRequest] < drips*9/10 {
		t.Errorf("%d of %d drips got the upload-interrupted page; want nearly all", byStatus[http.StatusBadRequest], drips)
	}
	if last < 60*time.Second {
		t.Errorf("a drip was ended after %v, before its 60 s grace period", last)
	}
}

// TestLoginFloodDoesNotStarveReports (issue 13): 50 clients loop wrong receipt logins for 30 s
// (each a full Argon2id derivation of 64 MiB, four at a time) while 5 reports are sent; each report
// is accepted with a receipt, because receipts derive in slots of their own.
func TestLoginFloodDoesNotStarveReports(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s of Argon2id logins; skipped with -short")
	}
	const flooders, reports, floodFor = 50, 5, 30 * time.Second
	in := newInstallation(t, t.TempDir())
	p := in.serve(t)
	stop := make(chan struct{})
	var mu sync.Mutex
	logins := map[int]int{}
	var wg sync.WaitGroup
	for range flooders {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, _ := crypto.NewReceipt(crand.Reader)
				st, _, err := login(p.URL, r.String())
				if err != nil {
					st = 0
				}
				mu.Lock()
				logins[st]++
				mu.Unlock()
			}
		})
	}
	time.Sleep(2 * time.Second)
	begin := time.Now()
	for i := range reports {
		status, code, page, err := report(p.URL, fmt.Sprintf("report %d", i), "r.bin", payload(i, 64<<10))
		if err != nil || status != http.StatusOK || code == "" {
			t.Errorf("report %d during the login flood: status %d, receipt %q, %v\n%.300s", i, status, code, err, page)
		}
		time.Sleep(floodFor / (reports + 1))
	}
	for time.Since(begin) < floodFor {
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d clients looped wrong logins for %v: answers %v (403 wrong, 503 busy)", flooders, floodFor, logins)
	for st, n := range logins {
		if st != http.StatusForbidden && st != http.StatusServiceUnavailable {
			t.Errorf("%d logins answered %d; want 403 or 503", n, st)
		}
	}
}

// TestOneCodeCannotFillSessions (issue 13): 2,000 logins with one valid code (anyone can get a code
// by submitting) while another reporter logs in: every login succeeds, the other reporter's too,
// because a case has one session at a time — a new login replaces the old one — so the session table
// (1,000 by default) never fills.
func TestOneCodeCannotFillSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 Argon2id logins; skipped with -short")
	}
	const logins, workers = 2000, 8
	e := newInproc(t, server.Limits{})
	_, mine, _, err := report(e.url, "the flooder's own report", "x.txt", []byte("x"))
	if err != nil || mine == "" {
		t.Fatalf("flooder's report: %v", err)
	}
	_, other, _, err := report(e.url, "a real report", "r.txt", []byte("r"))
	if err != nil || other == "" {
		t.Fatalf("real report: %v", err)
	}
	var next, ok atomic.Int64
	var mu sync.Mutex
	bad := map[int]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= logins {
				st, _, err := login(e.url, mine)
				if err == nil && st == http.StatusSeeOther {
					ok.Add(1)
					continue
				}
				mu.Lock()
				bad[st]++
				mu.Unlock()
			}
		})
	}
	for next.Load() < logins/2 {
		time.Sleep(50 * time.Millisecond)
	}
	st, loc, err := login(e.url, other)
	wg.Wait()
	if err != nil || st != http.StatusSeeOther || loc != "/followup" {
		t.Errorf("the other reporter's login in the middle of the flood: status %d, %v", st, err)
	}
	t.Logf("%d logins with one code: %d accepted, refusals %v; the other reporter: %d", logins, ok.Load(), bad, st)
	if ok.Load() != logins {
		t.Errorf("%d of %d logins with one valid code were refused (%v); a full session table?", logins-ok.Load(), logins, bad)
	}
}

// tokenFor issues a sync token for the installation's reviewer through the running server's
// control socket, as an admin does.
func tokenFor(t *testing.T, in *dataDir) string {
	t.Helper()
	out, err := exec.Command(in.bin, "reviewer", "token", "--data", in.data, in.rev.FP, "--json").Output()
	if err != nil {
		t.Fatalf("candor reviewer token: %v", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.Token == "" {
		t.Fatalf("candor reviewer token --json: %v", err)
	}
	return tok.Token
}

// push posts an outbox stream with token and returns the status and answer.
func push(base, token string, body io.Reader) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/push", body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}
