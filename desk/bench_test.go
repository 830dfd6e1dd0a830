package desk

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"candor/inbox"
	"candor/internal/testenv"
	"candor/server/synctest"
)

// The benchmarks measure the candor-desk binary serving a prepared inbox: the time of one request
// and the desk process's peak anonymous memory (RssAnon sampled from /proc every 2 ms; VmRSS would
// also count the page cache of inbox.db and the blobs).
//
//	go test -run '^$' -bench . -benchtime 5x ./desk

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range benchHomes {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// benchHomes keeps each benchmark's prepared inbox across the runs of one benchmark (the testing
// package runs it once with b.N = 1, then again), since preparing 1,000 cases takes minutes.
var (
	benchMu    sync.Mutex
	benchHomes = map[string]string{}
)

// preparedHome returns an inbox home, made once per process, that has imported the reports
// submitted by add.
func preparedHome(b *testing.B, add func(w *world)) string {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if dir, ok := benchHomes[b.Name()]; ok {
		return filepath.Join(dir, "inbox") // as newWorldIn made it
	}
	dir, err := os.MkdirTemp("", "candor-desk-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchHomes[b.Name()] = dir
	w := newWorldIn(b, dir)
	add(w)
	in, err := inbox.Open(inbox.Config{Home: w.home, Passphrase: func() ([]byte, error) { return []byte(pass), nil }})
	if err != nil {
		b.Fatal(err)
	}
	if err = in.TrustServer(w.srv.ServerKey()); err == nil {
		_, err = in.Import(w.pull())
	}
	in.Close()
	if err != nil {
		b.Fatal(err)
	}
	return w.home
}

func BenchmarkCaseList1000(b *testing.B) {
	n := testenv.BenchCount(1000, 20)
	home := preparedHome(b, func(w *world) {
		var wg sync.WaitGroup
		for g := range 2 { // the server derives receipt keys two at a time
			wg.Go(func() {
				for i := g; i < n; i += 2 {
					w.report(fmt.Sprintf("Report number %d about the same purchasing department.", i))
				}
			})
		}
		wg.Wait()
	})
	d := startBench(b, home)
	measure(b, d, func() {
		if want := fmt.Sprintf("%d cases of %d", n, n); !strings.Contains(get(b, d.url+"cases"), want) {
			b.Fatalf("the list page does not show %q", want)
		}
	})
}

func BenchmarkCase100MiB(b *testing.B) {
	size := testenv.BenchSize(100<<20, 2<<20)
	home := preparedHome(b, func(w *world) {
		w.report("The attached archive holds the ledgers.", synctest.File{Name: "ledgers.tar", Body: randomBytes(int(size))})
	})
	d := startBench(b, home)
	id := regexp.MustCompile(`/case/([0-9a-f]{32})"`).FindStringSubmatch(get(b, d.url+"cases"))
	if id == nil {
		b.Fatal("no case on the list page")
	}
	file := regexp.MustCompile(`"[^"]*(/case/[0-9a-f]+/file/[0-9a-f]+/[0-9]+)"`).FindStringSubmatch(get(b, d.url+"case/"+id[1]))
	if file == nil {
		b.Fatal("no file link on the case page")
	}
	b.Run("page", func(b *testing.B) {
		measure(b, d, func() {
			if !strings.Contains(get(b, d.url+"case/"+id[1]), "ledgers.tar") {
				b.Fatal("the case page lacks the file")
			}
		})
	})
	b.Run("download", func(b *testing.B) {
		b.SetBytes(size)
		measure(b, d, func() {
			resp, err := http.Get(d.url + strings.TrimPrefix(file[1], "/"))
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			if n, _ := io.Copy(io.Discard, resp.Body); n != size {
				b.Fatalf("downloaded %d bytes, want %d", n, size)
			}
		})
	})
}

type benchDesk struct {
	url string
	pid int
}

// startBench starts the candor-desk binary, unlocked, on the inbox in home.
func startBench(b *testing.B, home string) *benchDesk {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "candor-desk")
	if out, err := exec.Command("go", "build", "-o", bin, "candor/cmd/candor-desk").CombinedOutput(); err != nil {
		b.Fatalf("building candor-desk: %v\n%s", err, out)
	}
	pf := filepath.Join(b.TempDir(), "pass")
	os.WriteFile(pf, []byte(pass+"\n"), 0o600)
	cmd := exec.Command(bin, "--home", home, "--passphrase-file", pf)
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("no URL: %v", err)
	}
	return &benchDesk{url: strings.TrimSpace(url), pid: cmd.Process.Pid}
}

// measure runs op b.N times and reports the desk's peak RssAnon meanwhile.
func measure(b *testing.B, d *benchDesk, op func()) {
	stop, peak := make(chan struct{}), make(chan int64)
	go func() {
		var max int64
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v := rssAnon(d.pid); v > max {
				max = v
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	b.ResetTimer()
	for range b.N {
		op()
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(<-peak)/(1<<20), "peak-RssAnon-MiB")
}

// rssAnon returns the process's RssAnon in bytes (0 if unknown).
func rssAnon(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func get(b *testing.B, url string) string {
	b.Helper()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("GET: status %d", resp.StatusCode)
	}
	return string(body)
}
