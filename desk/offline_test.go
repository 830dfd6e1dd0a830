package desk

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"candor/internal/testenv"
	"candor/server/synctest"
)

// TestOfflineNamespace runs TestDayInNamespace inside a network namespace that has only a loopback
// interface (unshare -n, as root): the candor-desk binary, the test server and Chromium all run
// there, so the day passes only if the desk never needs a network.
func TestOfflineNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts a browser")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for unshare -n; run the tests as root (CI does)")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found; install it to run this test: apt-get install util-linux iproute2", tool)
		}
	}
	testenv.Chromium(t)
	testenv.AxeScript(t)
	bin := filepath.Join(t.TempDir(), "candor-desk")
	if out, err := exec.Command("go", "build", "-o", bin, "candor/cmd/candor-desk").CombinedOutput(); err != nil {
		t.Fatalf("building candor-desk: %v\n%s", err, out)
	}
	cmd := exec.Command("unshare", "-n", "sh", "-c",
		`ip link set lo up && exec "$0" -test.run '^TestDayInNamespace$' -test.v -test.count=1`, os.Args[0])
	cmd.Env = append(os.Environ(), "CANDOR_DESK_BIN="+bin, "CANDOR_DESK_NETNS=1",
		"CANDOR_SCREENSHOTS="+os.Getenv("CANDOR_SCREENSHOTS_NETNS"))
	out, err := cmd.CombinedOutput()
	t.Logf("inside the namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the day in the namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestDayInNamespace") {
		t.Fatal("TestDayInNamespace did not pass inside the namespace")
	}
}

// TestDayInNamespace is run by TestOfflineNamespace: the reviewer's day through the candor-desk
// binary, in a namespace whose only interface is loopback.
func TestDayInNamespace(t *testing.T) {
	bin := os.Getenv("CANDOR_DESK_BIN")
	if os.Getenv("CANDOR_DESK_NETNS") != "1" || bin == "" {
		t.Skip("run by TestOfflineNamespace inside a network namespace")
	}
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) != 1 || ifs[0].Name != "lo" {
		t.Fatalf("want a namespace with only lo, got %v (%v)", ifs, err)
	}
	w := newWorld(t)
	msg, evidence := "Safety inspections at the Bremen site are signed without being done.", randomBytes(200<<10)
	w.report(msg, synctest.File{Name: "inspection-log.csv", Body: evidence})
	url := startBinary(t, bin, "--home", w.home, "--idle-lock", "10m")
	reviewerDay(t, w, url, msg, evidence, "inspection-log.csv")
}

// startBinary runs candor-desk with args and returns the one URL it prints.
func startBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	select {
	case url := <-lines:
		if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(url, "/s/") {
			t.Fatalf("candor-desk printed %q, want its URL", url)
		}
		return url
	case <-time.After(30 * time.Second):
		t.Fatal("candor-desk printed no URL")
	}
	return ""
}
