package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"candor/frontend"
	"candor/internal/day"
	"candor/internal/logentry"
)

func TestMemSem(t *testing.T) {
	m := newMemSem(10)
	if !m.acquire(6, 0) || m.acquire(5, 10*time.Millisecond) {
		t.Fatal("6 of 10 taken, then 5 more granted")
	}
	if m.acquire(11, time.Second) {
		t.Fatal("more than the whole semaphore granted")
	}
	// Waiters are served in order: a large one first, then the small one behind it.
	var order []int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, n := range []int64{8, 2} {
		wg.Go(func() {
			if m.acquire(n, 5*time.Second) {
				mu.Lock()
				order = append(order, n)
				mu.Unlock()
			}
		})
		waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.waiters.Len() == i+1 })
	}
	// 4 bytes are free, yet neither the queued 2 nor a new 4 goes ahead of the 8.
	mu.Lock()
	early := len(order)
	mu.Unlock()
	if m.acquire(4, 0) || m.inUse() != 6 || early != 0 {
		t.Fatalf("granted ahead of the queue: in use %d (want 6), granted %v", m.inUse(), order)
	}
	m.release(6)
	wg.Wait()
	slices.Sort(order)
	if !slices.Equal(order, []int64{2, 8}) || m.inUse() != 10 {
		t.Fatalf("granted %v, in use %d; want both and 10", order, m.inUse())
	}
	m.release(10)
	if m.inUse() != 0 {
		t.Fatalf("in use %d after releasing everything", m.inUse())
	}
}

func TestMemSemTimeoutLetsOthersIn(t *testing.T) {
	m := newMemSem(10)
	m.acquire(5, 0)
	done := make(chan bool)
	go func() { done <- m.acquire(8, 200*time.Millisecond) }() // does not fit, times out
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.waiters.Len() == 1 })
	small := make(chan bool)
	go func() { small <- m.acquire(3, 5*time.Second) }() // queued behind the large one
	if <-done {
		t.Fatal("8 granted while 5 of 10 were held")
	}
	if !<-small {
		t.Fatal("the small waiter behind a timed-out large one was not granted")
	}
}

// TestBodyRateFloor: past the grace period a body averaging under the floor is ended; a body at an
// honest Tor rate (50 kB/s) is not, however long it runs.
func TestBodyRateFloor(t *testing.T) {
	now := time.Unix(1e9, 0)
	clk := func() time.Time { return now }
	read := func(rate int, seconds int) error {
		b := &bodyReader{r: strings.NewReader(strings.Repeat("x", rate*seconds+1)), max: 1 << 40, declared: -1,
			now: clk, start: now, minRate: 1024, grace: time.Minute}
		buf := make([]byte, rate)
		for range seconds {
			now = now.Add(time.Second)
			if _, err := b.Read(buf); err != nil {
				return err
			}
		}
		return nil
	}
	if err := read(50_000, 600); err != nil {
		t.Errorf("50 kB/s for 10 minutes: %v", err)
	}
	if err := read(1, 59); err != nil {
		t.Errorf("1 B/s within the grace period: %v", err)
	}
	if err := read(1, 120); !errors.Is(err, errTooSlow) {
		t.Errorf("1 B/s for 2 minutes: %v, want errTooSlow", err)
	}
}

// TestTricklerHoldsLittleMemory: an upload stuck in its text fields holds the base reservation only;
// an upload that seals more than a chunk takes the batch reservation, and both return everything.
func TestTricklerHoldsLittleMemory(t *testing.T) {
	e := newEnv(t, envOptions{})
	body, ct := multipartBody(textPart("message", "slow"), filePart("f.bin", bytes.Repeat([]byte("f"), 2<<20)))
	pr, pw := io.Pipe()
	status := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", e.url+"/report", pr)
		req.Header.Set("Content-Type", ct)
		resp, err := e.client().Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	pw.Write(body[:40]) // inside the message field
	waitFor(t, func() bool { return e.srv.uploads.inUse() > 0 })
	if got := e.srv.uploads.inUse(); got != uploadBaseMemory {
		t.Errorf("an upload reading its fields holds %d bytes, want %d", got, uploadBaseMemory)
	}
	pw.Write(body[40 : 1<<20])
	waitFor(t, func() bool { return e.srv.uploads.inUse() > uploadBaseMemory })
	if got := e.srv.uploads.inUse(); got != uploadBaseMemory+uploadBatchMemory {
		t.Errorf("an upload sealing 1 MiB holds %d bytes, want %d", got, uploadBaseMemory+uploadBatchMemory)
	}
	pw.Write(body[1<<20:])
	pw.Close()
	if st := <-status; st != http.StatusOK {
		t.Fatalf("report: %d", st)
	}
	waitFor(t, func() bool { return e.srv.uploads.inUse() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStorageFullPage: a full disk (ENOSPC as bbolt reports it: wrapped, or as text only) gets the
// storage-full page, not "busy" and not an internal error.
func TestStorageFullPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	app := fiber.New(fiber.Config{ErrorHandler: e.srv.errorHandler})
	app.Get("/wrapped", func(*fiber.Ctx) error { return fmt.Errorf("commit: %w", syscall.ENOSPC) })
	app.Get("/text", func(*fiber.Ctx) error { return errors.New("file resize error: no space left on device") })
	app.Get("/quota", func(*fiber.Ctx) error { return fmt.Errorf("write: %w", syscall.EDQUOT) })
	want := e.srv.fe.T("en", frontend.ErrorStorageFull.MessageKey())
	for _, path := range []string{"/wrapped", "/text", "/quota"} {
		resp, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), want) {
			t.Errorf("%s: status %d, page lacks the storage-full message", path, resp.StatusCode)
		}
	}
}

// TestDeletedCodeLooksNeverIssued is the deniability test: after a logged deletion, the case's
// receipt code gets exactly what a code never issued gets — the same status, the same body — and
// both pay the same derivation (timing in the same class).
func TestDeletedCodeLooksNeverIssued(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "to be deleted"))
	c := e.onlyCase()
	de, _ := (&logentry.Entry{Type: logentry.CaseDeleted, Day: day.FromTime(e.clock.t), Case: c.ID, Actor: "server"}).Marshal()
	if _, err := e.st.DeleteCase(c.ID, [][]byte{de}); err != nil {
		t.Fatal(err)
	}
	never := wrongCode(t, code)
	attempt := func(code string) (int, string, time.Duration) {
		start := time.Now()
		status, page := e.do(t, e.plainClient(), "POST", "/followup", nil, login(code))
		return status, page, time.Since(start)
	}
	var tDeleted, tNever []time.Duration
	var first [2]string
	for i := range 5 {
		s1, p1, d1 := attempt(code)
		s2, p2, d2 := attempt(never)
		if s1 != http.StatusForbidden || s1 != s2 {
			t.Fatalf("deleted code: %d, never issued: %d; want 403 for both", s1, s2)
		}
		if p1 != p2 {
			t.Fatalf("the pages differ:\n%s\n---\n%s", p1, p2)
		}
		if i == 0 {
			first = [2]string{p1, p2}
		} else if p1 != first[0] {
			t.Fatalf("the page changed between attempts")
		}
		tDeleted, tNever = append(tDeleted, d1), append(tNever, d2)
	}
	slices.Sort(tDeleted)
	slices.Sort(tNever)
	md, mn := tDeleted[2], tNever[2]
	t.Logf("median: deleted code %v, never-issued code %v", md, mn)
	// The same class: both medians within a factor of 2 of each other (each is one Argon2id
	// derivation of 64 MiB plus a store lookup; a path without the derivation would be ~100× faster).
	if r := float64(md) / float64(mn); r < 0.5 || r > 2 {
		t.Errorf("median times %v (deleted) and %v (never issued): ratio %.2f, not the same class", md, mn, r)
	}
}
