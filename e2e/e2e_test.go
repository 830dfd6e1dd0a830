package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/net/proxy"

	"candor/candortest"
	"candor/internal/testenv"
	"candor/onion/tornet"
)

// Bounds of every wait: nothing in this package waits without one.
const (
	networkTimeout = 90 * time.Second  // the private network's bootstrap
	serveTimeout   = 120 * time.Second // candor serve's tor bootstrap, until it prints its addresses
	reachTimeout   = 120 * time.Second // a freshly published onion becoming reachable
	requestTimeout = 60 * time.Second  // one HTTP request through tor
	stopTimeout    = 20 * time.Second  // candor serve's graceful shutdown
)

// Shared by every test of the binary: one private Tor network and one candor binary per build mode,
// each made by the first test that needs it and removed by TestMain.
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
	candortest.RemoveBinaries()
	os.Exit(code)
}

// network returns the shared private Tor network. It skips tb in -short mode and when tor is
// missing (fails under CANDOR_CI=1).
func network(tb testing.TB) *tornet.Network {
	tb.Helper()
	skipShort(tb)
	torPath := testenv.Tor(tb)
	netOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), networkTimeout)
		defer cancel()
		var log io.Writer
		if os.Getenv("CANDOR_TORNET_LOG") == "1" {
			log = os.Stderr
		}
		if testNet, netErr = tornet.Start(ctx, tornet.Options{TorPath: torPath, Log: log}); netErr == nil {
			netErr = testNet.WaitReady(ctx)
		}
	})
	if netErr != nil {
		tb.Fatalf("private Tor network: %v (CANDOR_TORNET_LOG=1 shows tor's logs)", netErr)
	}
	return testNet
}

// skipShort skips tb in -short mode (make test-short). Benchmarks are not skipped: under -short
// they run once on small inputs (testenv.BenchSize), CI's check that none has rotted.
func skipShort(tb testing.TB) {
	tb.Helper()
	if _, bench := tb.(*testing.B); testing.Short() && !bench {
		tb.Skip("end-to-end test through a private Tor network; skipped in -short mode")
	}
}

// candorBin returns cmd/candor built once per mode (race: with the race detector).
func candorBin(tb testing.TB, race bool) string {
	return candortest.Binary(tb, "candor/cmd/candor", race)
}

// reviewer is a reviewer of a test installation; id decrypts what is sealed to them.
type reviewer struct {
	name string
	id   *age.HybridIdentity
	fp   string
	card string // file holding the card
}

// install is a data directory made by candor init.
type install struct {
	bin       string
	dir       string // parent of data; short, for tor's unix sockets
	data      string
	reviewers []reviewer
}

// newInstall runs candor init with one reviewer per name (cards made with candor/crypto).
func newInstall(tb testing.TB, bin string, names ...string) *install {
	tb.Helper()
	// Unix socket paths are limited to about 100 bytes and t.TempDir's names are long.
	dir, err := os.MkdirTemp("", "ce2e")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	in := &install{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	args := []string{"init", "--data", in.data}
	for _, name := range names {
		r := newReviewer(tb, dir, name)
		in.reviewers = append(in.reviewers, r)
		args = append(args, "--reviewer", r.card)
	}
	in.run(tb, args...)
	return in
}

func newReviewer(tb testing.TB, dir, name string) reviewer {
	tb.Helper()
	r := candortest.NewReviewer(tb, name)
	return reviewer{name: name, id: r.ID, fp: r.FP, card: r.CardFile(tb, dir)}
}

// run runs a candor command that must succeed within a minute and returns its stdout.
func (in *install) run(tb testing.TB, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, in.bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("candor %s: %v\n%s", args[0], err, stderr.String())
	}
	return stdout.String()
}

// torrcFile writes the lines that join the private network, for --tor-extra-config.
func (in *install) torrcFile(tb testing.TB, n *tornet.Network) string {
	tb.Helper()
	f := filepath.Join(in.dir, "tornet.torrc")
	lines := append([]string{"# join the private test network (onion/tornet)"}, n.ServiceTorrc()...)
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}

// serving is a running `candor serve` on the private network.
type serving struct {
	cmd        *exec.Cmd
	public     string // xxx.onion
	restricted string
	out        *syncBuffer // stdout and stderr (tor's warnings included)
	exited     chan struct{}
	exitErr    error
}

// startServe starts `candor serve --data DIR --tor-extra-config FILE` and waits until it prints both
// onion addresses (tor has bootstrapped and published them). The process is stopped in tb.Cleanup.
func startServe(tb testing.TB, in *install, n *tornet.Network) *serving {
	tb.Helper()
	s := &serving{out: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(in.bin, "serve", "--data", in.data, "--tor-extra-config", in.torrcFile(tb, n))
	s.cmd.Stderr = s.out
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	addrs := make(chan [2]string, 1)
	go s.scan(stdout, addrs)
	go func() { s.exitErr = s.cmd.Wait(); close(s.exited) }()
	tb.Cleanup(func() {
		s.stop(tb)
		if strings.Contains(s.out.String(), "WARNING: DATA RACE") {
			tb.Error("the race detector found a data race in candor serve (output below)")
		}
		if tb.Failed() || os.Getenv("CANDOR_E2E_LOG") == "1" {
			tb.Logf("candor serve output:\n%s", s.out.String())
		}
	})
	select {
	case a := <-addrs:
		s.public, s.restricted = a[0], a[1]
	case <-s.exited:
		tb.Fatalf("candor serve exited before publishing: %v\n%s", s.exitErr, s.out.String())
	case <-time.After(serveTimeout):
		tb.Fatalf("candor serve printed no onion addresses within %v\n%s", serveTimeout, s.out.String())
	}
	return s
}

// scan copies stdout into s.out and sends the addresses of the lines "public: http://X" and
// "restricted: http://Y" once it has both.
func (s *serving) scan(stdout io.Reader, addrs chan<- [2]string) {
	var a [2]string
	sent := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(s.out, line)
		if f := strings.Fields(line); len(f) == 2 {
			switch f[0] {
			case "public:":
				a[0] = strings.TrimPrefix(f[1], "http://")
			case "restricted:":
				a[1] = strings.TrimPrefix(f[1], "http://")
			}
		}
		if !sent && a[0] != "" && a[1] != "" {
			addrs <- a
			sent = true
		}
	}
}

// stop sends SIGTERM and waits for a graceful exit (killing the process after stopTimeout). It is
// idempotent and reports a failed shutdown.
func (s *serving) stop(tb testing.TB) {
	tb.Helper()
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.exitErr != nil {
			tb.Errorf("candor serve did not stop cleanly: %v", s.exitErr)
		}
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		tb.Errorf("candor serve did not stop within %v after SIGTERM", stopTimeout)
	}
}

// torPID returns the pid of the tor process that candor serve started (its child named "tor"),
// or 0 if there is none.
func (s *serving) torPID() int {
	return childNamed(s.cmd.Process.Pid, "tor")
}

// childNamed finds, through /proc, a child of ppid whose command name is name.
func childNamed(ppid int, name string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid …"; comm may hold spaces, so split at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		j := bytes.IndexByte(b, '(')
		if i < 0 || j < 0 {
			continue
		}
		var state string
		var parent int
		fmt.Sscan(string(b[i+1:]), &state, &parent)
		if parent == ppid && string(b[j+1:i]) == name && state != "Z" {
			return pid
		}
	}
	return 0
}

// alive reports whether a process with this pid exists (and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !bytes.HasPrefix(bytes.TrimSpace(b[i+1:]), []byte("Z"))
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer = candortest.Buffer

// onionClient returns an HTTP client that reaches onion services through the SOCKS5 proxy socks.
// Each request has its own circuit stream (no keep-alive), bounded by timeout.
func onionClient(tb testing.TB, socks string, timeout time.Duration) *http.Client {
	tb.Helper()
	d, err := proxy.SOCKS5("tcp", socks, nil, &net.Dialer{})
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext, DisableKeepAlives: true,
			DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches url through socks once and returns the status and body.
func get(tb testing.TB, socks, url string) (int, string, error) {
	tb.Helper()
	resp, err := onionClient(tb, socks, requestTimeout).Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitReachable retries GET url through socks until the onion answers with any HTTP status, for at
// most reachTimeout (a fresh descriptor takes a few seconds to reach the directories), and returns
// the status and body.
func waitReachable(tb testing.TB, socks, url string) (int, string) {
	tb.Helper()
	start := time.Now()
	deadline := start.Add(reachTimeout)
	for {
		code, body, err := get(tb, socks, url)
		if err == nil {
			tb.Logf("%s answered after %v", url, time.Since(start).Round(time.Millisecond))
			return code, body
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET %s through %s: %v (gave up after %v)", url, socks, err, reachTimeout)
		}
		time.Sleep(time.Second)
	}
}

// errUnreachable is what unreachable reports when every attempt failed at the transport level.
var errUnreachable = errors.New("unreachable")

// unreachable tries GET url through socks attempts times and returns errUnreachable (wrapping the
// last transport error) if none got an HTTP answer, or nil if one did.
func unreachable(tb testing.TB, socks, url string, attempts int) error {
	tb.Helper()
	var last error
	for range attempts {
		_, _, err := get(tb, socks, url)
		if err == nil {
			return nil
		}
		last = err
		time.Sleep(time.Second)
	}
	return fmt.Errorf("%w: %v", errUnreachable, last)
}

// screenshotDir is CANDOR_SCREENSHOTS, or a temporary directory.
func screenshotDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("CANDOR_SCREENSHOTS")
	if dir == "" {
		return tb.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}
