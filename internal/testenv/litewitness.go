package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Litewitness is a running litewitness (the C2SP tlog-witness reference witness from
// filippo.io/torchwood) on a loopback port, started by StartLitewitness for one test.
type Litewitness struct {
	// URL is the witness's submission prefix, e.g. "http://127.0.0.1:41234".
	URL string
	// Name is the witness's name; VKey its cosignature verifier key as litewitness printed it.
	Name string
	VKey string
	db   string
	ctl  string
}

const litewitnessHint = "go install filippo.io/torchwood/cmd/litewitness@v0.6.1 filippo.io/torchwood/cmd/witnessctl@v0.6.1"

// StartLitewitness starts litewitness with a fresh Ed25519 key held by its own ssh-agent, as
// /work/shared/ENVIRONMENT.md describes, and stops both (by PID) when the test ends. It skips
// the test with an install hint when litewitness, witnessctl or openssh-client is missing
// (fails under CANDOR_CI=1). Register logs with AddLog.
func StartLitewitness(t testing.TB) *Litewitness {
	t.Helper()
	bin := lookPath(t, "litewitness", litewitnessHint)
	w := &Litewitness{Name: "witness.invalid/test", ctl: lookPath(t, "witnessctl", litewitnessHint)}
	for _, tool := range []string{"ssh-keygen", "ssh-agent", "ssh-add"} {
		lookPath(t, tool, "apt-get install openssh-client")
	}
	// A short directory: a unix socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "lw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w.db = filepath.Join(dir, "lw.db")
	sock, fingerprint := startAgent(t, dir)
	for attempt := 0; ; attempt++ {
		err := w.start(t, bin, dir, sock, fingerprint)
		if err == nil {
			return w
		}
		if attempt == 2 {
			t.Fatalf("testenv: starting litewitness: %v", err)
		}
	}
}

// startAgent creates an Ed25519 key, starts ssh-agent in the foreground on a socket in dir and
// adds the key. It returns the socket and the key's SHA256 fingerprint.
func startAgent(t testing.TB, dir string) (string, string) {
	t.Helper()
	key := filepath.Join(dir, "key")
	run(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-f", key, "-N", "", "-C", "litewitness-test")
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command(toolPath(t, "ssh-agent"), "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatalf("testenv: starting ssh-agent: %v", err)
	}
	t.Cleanup(func() { stop(agent) })
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil }, "ssh-agent socket")
	run(t, []string{"SSH_AUTH_SOCK=" + sock}, "ssh-add", "-q", key)
	fields := strings.Fields(run(t, nil, "ssh-keygen", "-lf", key+".pub"))
	if len(fields) < 2 || !strings.HasPrefix(fields[1], "SHA256:") {
		t.Fatalf("testenv: unexpected ssh-keygen -l output %q", fields)
	}
	return sock, fields[1]
}

var vkeyLine = regexp.MustCompile(`vkey="?([^"\s]+)"?`)

// start runs litewitness on a free loopback port and waits for its verifier key and its port.
func (w *Litewitness) start(t testing.TB, bin, dir, sock, fingerprint string) error {
	t.Helper()
	addr, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "litewitness.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-db", w.db, "-name", w.Name, "-key", fingerprint, "-ssh-agent", sock, "-listen", addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("litewitness exited: %s", out)
		case <-time.After(50 * time.Millisecond):
		}
		out, _ := os.ReadFile(logPath)
		m := vkeyLine.FindSubmatch(out)
		if m == nil || !listening(addr) {
			continue
		}
		w.VKey, w.URL = string(m[1]), "http://"+addr
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		return nil
	}
	cmd.Process.Kill()
	<-exited
	return fmt.Errorf("litewitness did not start within 15 s")
}

// AddLog registers a log with the witness: its origin and the log's Ed25519 note verifier key.
func (w *Litewitness) AddLog(t testing.TB, origin, vkey string) {
	t.Helper()
	run(t, nil, w.ctl, "add-log", "-db", w.db, "-origin", origin)
	run(t, nil, w.ctl, "add-key", "-db", w.db, "-origin", origin, "-key", vkey)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// listening reports whether addr accepts TCP connections (package internal links no net/http).
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func toolPath(t testing.TB, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return lookPath(t, name, "apt-get install openssh-client")
}

// run runs a tool to completion and returns its standard output; it fails the test on error.
func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(toolPath(t, name), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("testenv: %s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

func waitFor(t testing.TB, ok func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("testenv: timed out waiting for %s", what)
}

// stop kills a process started by this package (by its PID) and reaps it.
func stop(cmd *exec.Cmd) {
	cmd.Process.Kill()
	cmd.Wait()
}
