package candortest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ServeInProcess listens on a loopback port and runs serve (such as a server's Serve method with
// the listener) until the test ends; then it cancels serve's context, waits for it and reports a
// non-nil error as a test error. It returns the listener's host:port.
func ServeInProcess(tb testing.TB, serve func(ctx context.Context, ln net.Listener) error) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// Init runs `candor init --data DATA` with bin and one --reviewer per card file.
func Init(tb testing.TB, bin, data string, cardFiles ...string) {
	tb.Helper()
	args := []string{"init", "--data", data}
	for _, c := range cardFiles {
		args = append(args, "--reviewer", c)
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		tb.Fatalf("candor init: %v\n%s", err, out)
	}
}

// Proc is a running `candor serve --dev-listen`.
type Proc struct {
	Cmd    *exec.Cmd
	URL    string // http://127.0.0.1:PORT, both surfaces
	Stderr *Buffer
	Done   chan struct{} // closed when the process has exited
}

// ServeBinary starts `BIN serve --data DATA --dev-listen 127.0.0.1:0` with env added to the
// environment and waits for the address it prints; the test's cleanup stops it.
func ServeBinary(tb testing.TB, bin, data string, env ...string) *Proc {
	tb.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--dev-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{Cmd: cmd, Stderr: &Buffer{}, Done: make(chan struct{})}
	cmd.Stderr = p.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.Done) }()
	tb.Cleanup(p.Stop)
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		tb.Fatalf("candor serve printed no address: %v\n%s", err, p.Stderr)
	}
	go io.Copy(io.Discard, r) // a full pipe would block the server

	if p.URL = regexp.MustCompile(`http://\S+`).FindString(line); p.URL == "" {
		tb.Fatalf("no address in %q", line)
	}
	return p
}

// Stop interrupts the server and waits for it (a no-op once it has exited).
func (p *Proc) Stop() {
	p.Cmd.Process.Signal(os.Interrupt)
	<-p.Done
}

// Kill SIGKILLs the server and waits for it.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.Done
}

// Buffer is a bytes.Buffer safe for a writing process and a reading test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ProcStatusKiB reads a field such as VmHWM or RssAnon of /proc/PID/status, in KiB (-1 if it is
// unavailable).
func ProcStatusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field+":" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// PeakRSS samples pid's anonymous RSS (RssAnon: heap and stacks, not the store's mapped file)
// every period until stop is closed, then sends the peak in KiB.
func PeakRSS(pid int, period time.Duration, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			peak = max(peak, ProcStatusKiB(pid, "RssAnon"))
			select {
			case <-stop:
				out <- max(peak, ProcStatusKiB(pid, "RssAnon"))
				return
			case <-t.C:
			}
		}
	}()
	return out
}
