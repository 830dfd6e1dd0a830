package reliability

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"candor/candortest"
	"candor/internal/bundle"
	"candor/internal/testenv"
)

// The mixed run's clients: how many of each kind run at once, and the size of a report's file.
const (
	mixedSubmitters = 8
	mixedFollowups  = 4
	mixedPullers    = 2
	mixedFileSize   = 1 << 20
)

// Operation kinds of the mixed run.
const (
	kindSubmit   = "submit"
	kindFollowup = "followup"
	kindPull     = "pull"
)

var (
	// errBusy marks an answer 503 (the server's "busy" page or JSON error): counted, not an error.
	errBusy = errors.New("busy (503)")
	// errNoReceipt: the run ended before any report was answered; the attempt is not counted.
	errNoReceipt = errors.New("no receipt yet")
)

// mixedSeconds is the run's length: CANDOR_MIXED_SECONDS, default 60.
func mixedSeconds(b *testing.B) time.Duration {
	s := os.Getenv("CANDOR_MIXED_SECONDS")
	if s == "" {
		return testenv.BenchDuration(60*time.Second, 5*time.Second)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("CANDOR_MIXED_SECONDS=%q, want a positive number of seconds", s)
	}
	return time.Duration(n) * time.Second
}

// tally collects the outcome of every operation of one kind.
type tally struct {
	mu        sync.Mutex
	latencies []time.Duration // of the successful operations
	errs      []error         // the first few unexpected failures
	nerr      int
	busy      int
}

func (t *tally) add(d time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case errors.Is(err, errNoReceipt):
	case err == nil:
		t.latencies = append(t.latencies, d)
	case errors.Is(err, errBusy):
		t.busy++
	default:
		t.nerr++
		if len(t.errs) < 5 {
			t.errs = append(t.errs, err)
		}
	}
}

// percentile returns the p-th percentile (0..100) of sorted in milliseconds, 0 if empty.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(float64(len(sorted))*p/100))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// receiptPool holds the receipts the submitters got, for the follow-up clients. A receipt is lent
// to one client at a time: a second login with the same code replaces the first one's session (one
// session per case), which would turn the first client's message into a 403.
type receiptPool struct {
	mu    sync.Mutex
	codes []string
	inUse map[string]bool
	next  int
}

func (p *receiptPool) put(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.codes = append(p.codes, code)
}

// get lends the next receipt no other client holds, round-robin; false while there is none.
func (p *receiptPool) get() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.codes {
		p.next++
		code := p.codes[p.next%len(p.codes)]
		if !p.inUse[code] {
			if p.inUse == nil {
				p.inUse = map[string]bool{}
			}
			p.inUse[code] = true
			return code, true
		}
	}
	return "", false
}

// release gives a lent receipt back.
func (p *receiptPool) release(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inUse, code)
}

// BenchmarkMixed runs, against a real `candor serve --dev-listen` child on loopback with the
// default KDF, for CANDOR_MIXED_SECONDS (default 60): 8 submitters posting reports with a 1 MiB
// file, 4 follow-up clients logging in with earlier receipts and posting a further message, and
// 2 reviewers (each with its own sync token) pulling their bundles incrementally through
// GET /api/v1/pull and reading each one to its End record. It reports operations per second, p50
// and p99 latency, unexpected errors (the benchmark fails if any) and 503 "busy" answers per kind,
// and the server's peak memory: VmHWM and the peak RssAnon sampled every 10 ms.
func BenchmarkMixed(b *testing.B) {
	dur := mixedSeconds(b)
	in := newInstallation(b, filepath.Join(b.TempDir(), "data"))
	tokens := []string{issueToken(b, in, in.rev.Card.Fingerprint()), addReviewerToken(b, in)}
	p := in.serve(b)
	pid := p.Cmd.Process.Pid
	for range b.N {
		tallies, elapsed := mixedRun(p.URL, tokens, dur, pid, b)
		for _, kind := range []string{kindSubmit, kindFollowup, kindPull} {
			t := tallies[kind]
			slices.Sort(t.latencies)
			b.ReportMetric(float64(len(t.latencies))/elapsed.Seconds(), kind+"-ops/s")
			b.ReportMetric(percentile(t.latencies, 50), kind+"-p50-ms")
			b.ReportMetric(percentile(t.latencies, 99), kind+"-p99-ms")
			b.ReportMetric(float64(t.nerr), kind+"-errors")
			b.ReportMetric(float64(t.busy), kind+"-busy")
			if t.nerr > 0 {
				b.Errorf("%s: %d requests failed unexpectedly; first: %v", kind, t.nerr, t.errs)
			}
		}
	}
	b.ReportMetric(0, "ns/op")
}

// mixedRun runs the clients for dur (each finishes the operation it is in) and returns their
// tallies by kind and the time until the last finished; it reports the server's peak memory on b.
func mixedRun(base string, tokens []string, dur time.Duration, pid int, b *testing.B) (map[string]*tally, time.Duration) {
	tallies := map[string]*tally{kindSubmit: {}, kindFollowup: {}, kindPull: {}}
	pool := &receiptPool{}
	stopRSS := make(chan struct{})
	peak := candortest.PeakRSS(pid, 10*time.Millisecond, stopRSS)
	begin := time.Now()
	deadline := begin.Add(dur)
	var wg sync.WaitGroup
	loop := func(kind string, op func(i int) error) {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				start := time.Now()
				err := op(i)
				tallies[kind].add(time.Since(start), err)
			}
		})
	}
	for s := range mixedSubmitters {
		file := payload(1000+s, mixedFileSize)
		loop(kindSubmit, func(i int) error {
			code, err := mixedSubmit(base, fmt.Sprintf("mixed report %d/%d", s, i), file)
			if err == nil {
				pool.put(code)
			}
			return err
		})
	}
	for f := range mixedFollowups {
		msg := payload(2000+f, 4<<10)
		loop(kindFollowup, func(i int) error {
			code, ok := pool.get()
			for ; !ok && time.Now().Before(deadline); code, ok = pool.get() {
				time.Sleep(50 * time.Millisecond)
			}
			if !ok {
				return errNoReceipt
			}
			defer pool.release(code)
			return mixedFollowup(base, code, fmt.Sprintf("follow-up %d/%d", f, i), msg)
		})
	}
	for _, token := range tokens {
		var cursor uint64
		loop(kindPull, func(int) error {
			until, err := mixedPull(base, token, cursor)
			if err == nil {
				cursor = until
			}
			return err
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	close(stopRSS)
	b.ReportMetric(float64(<-peak)/1024, "peak-RssAnon-MiB")
	b.ReportMetric(float64(candortest.ProcStatusKiB(pid, "VmHWM"))/1024, "VmHWM-MiB")
	return tallies, elapsed
}

// statusErr turns an unexpected answer into an error (errBusy for 503) without its body, which
// may hold a receipt code.
func statusErr(what string, status int) error {
	if status == http.StatusServiceUnavailable {
		return errBusy
	}
	return fmt.Errorf("%s: status %d", what, status)
}

// mixedSubmit posts a report and returns its receipt.
func mixedSubmit(base, message string, file []byte) (string, error) {
	status, code, _, err := report(base, message, "evidence.bin", file)
	if err != nil {
		return "", fmt.Errorf("POST /report: %w", err)
	}
	if status != http.StatusOK || code == "" {
		return "", statusErr("POST /report", status)
	}
	return code, nil
}

// mixedFollowup logs in with code and posts a further message with a small file.
func mixedFollowup(base, code, message string, file []byte) error {
	resp, err := client.PostForm(base+"/followup", url.Values{"receipt": {code}})
	if err != nil {
		return fmt.Errorf("POST /followup: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/followup" {
		return statusErr("POST /followup (login)", resp.StatusCode)
	}
	body, ct := reportBody(message, "more.bin", file)
	req, err := http.NewRequest(http.MethodPost, base+"/followup/message", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /followup/message: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/followup" {
		return statusErr("POST /followup/message", resp.StatusCode)
	}
	return nil
}

// mixedPull fetches the bundle after since, reads it to its End record, and returns its Until.
func mixedPull(base, token string, since uint64) (uint64, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/pull?since="+strconv.FormatUint(since, 10), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /api/v1/pull: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, statusErr("GET /api/v1/pull", resp.StatusCode)
	}
	r := bundle.NewReader(resp.Body)
	var until uint64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return until, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading the bundle: %w", err)
		}
		if h, ok := rec.(*bundle.Header); ok {
			until = h.Until
		}
	}
}

// issueToken runs `candor reviewer token` for fp (the server must not be running) and returns
// the token.
func issueToken(b *testing.B, in *dataDir, fp string) string {
	b.Helper()
	out, err := exec.Command(in.bin, "reviewer", "token", "--data", in.data, "--json", fp).Output()
	if err != nil {
		b.Fatalf("candor reviewer token: %v", err)
	}
	var t struct{ Token string }
	if err := json.Unmarshal(out, &t); err != nil || t.Token == "" {
		b.Fatalf("candor reviewer token printed no token (%v)", err)
	}
	return t.Token
}

// addReviewerToken registers a second reviewer with `candor reviewer add` and issues its token.
func addReviewerToken(b *testing.B, in *dataDir) string {
	b.Helper()
	rev := newReviewer(b)
	card := rev.CardFile(b, b.TempDir())
	if out, err := exec.Command(in.bin, "reviewer", "add", "--data", in.data, card).CombinedOutput(); err != nil {
		b.Fatalf("candor reviewer add: %v\n%s", err, out)
	}
	return issueToken(b, in, rev.Card.Fingerprint())
}
