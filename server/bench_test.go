package server

import (
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"candor/candortest"
	"candor/internal/testenv"
)

// The benchmarks run `candor serve --dev-listen` as a child process (built in the benchmark) so
// that its peak memory can be read from /proc. They are heavy: run them explicitly, e.g.
//
//	go test -run '^$' -bench . -benchtime 1x ./server

// startChild runs candor serve --dev-listen over a new installation with one reviewer.
func startChild(b *testing.B) (*candortest.Proc, testReviewer) {
	b.Helper()
	bin := candortest.Candor(b)
	dir := b.TempDir()
	r := newTestReviewer(b, "Bench Reviewer")
	card := filepath.Join(dir, "card.txt")
	os.WriteFile(card, r.card.Marshal(), 0o600)
	data := filepath.Join(dir, "data")
	candortest.Init(b, bin, data, card)
	return candortest.ServeBinary(b, bin, data, "TMPDIR="+b.TempDir()), r
}

// makeFile writes size pseudo-random bytes.
func makeFile(b *testing.B, size int64) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "payload.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(f, rng, size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return p
}

// postFile streams file as a report to url and returns the status.
func postFile(url, file string) (int, error) { return postFileSent(url, file, nil) }

// streamPause is how long postFileSent waits after the file's bytes before the closing boundary.
const streamPause = 500 * time.Millisecond

// postFileSent is postFile that, if sent is not nil, waits streamPause after the file's last byte
// (the server drains the socket buffers and commits all but its last batch; it cannot finish the
// upload, nor start the receipt's derivation, before the closing boundary), closes sent, and then
// sends the closing boundary.
func postFileSent(url, file string, sent chan<- struct{}) (int, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("message", "benchmark")
		w, _ := mw.CreateFormFile("file", filepath.Base(file))
		f, err := os.Open(file)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(w, f); err != nil {
			pw.CloseWithError(err)
			return
		}
		if sent != nil {
			time.Sleep(streamPause)
			close(sent)
		}
		pw.CloseWithError(mw.Close())
	}()
	resp, err := http.Post(url+"/report", mw.FormDataContentType(), pr)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && !strings.Contains(string(body), `id="receipt-code"`) {
		return 0, fmt.Errorf("no receipt on the page")
	}
	return resp.StatusCode, nil
}

// BenchmarkUpload uploads 128 MiB and 1 GiB files over loopback to a fresh server each and
// reports:
//   - the throughput as a ratio to the stock age CLI encrypting the same file to the same recipient
//     in the same run (ratio-to-age: age writes to /dev/null) and to age writing the ciphertext to
//     a file on the same disk followed by an fsync (ratio-to-age-durable: the server's store makes
//     every byte durable before the receipt);
//   - the server's anonymous RSS (heap and stacks; the store's mmapped file pages are page cache):
//     its peak while the body streams (sampled until just before the closing boundary; see
//     postFileSent, whose pause is not counted in the time) and its peak over the whole request,
//     which adds the one Argon2id derivation (64 MiB) that makes the receipt.
func BenchmarkUpload(b *testing.B) {
	ageBin := testenv.Age(b)
	for _, size := range []int64{testenv.BenchSize(128<<20, 4<<20), testenv.BenchSize(1<<30, 8<<20)} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			file := makeFile(b, size)
			for range b.N {
				c, r := startChild(b)
				ageTime := timeAge(b, ageBin, r.id.Recipient().String(), file, os.DevNull)
				ageDurable := timeAge(b, ageBin, r.id.Recipient().String(), file, filepath.Join(b.TempDir(), "out.age"))
				stop, sent := make(chan struct{}), make(chan struct{})
				pid := c.Cmd.Process.Pid
				whole, streaming := candortest.PeakRSS(pid, 20*time.Millisecond, stop), candortest.PeakRSS(pid, 20*time.Millisecond, sent)
				start := time.Now()
				status, err := postFileSent(c.URL, file, sent)
				upTime := time.Since(start) - streamPause
				close(stop)
				if err != nil || status != 200 {
					b.Fatalf("upload: status %d, %v", status, err)
				}
				mb := float64(size) / (1 << 20)
				b.ReportMetric(mb/upTime.Seconds(), "MiB/s")
				b.ReportMetric(mb/ageTime.Seconds(), "age-MiB/s")
				b.ReportMetric(ageTime.Seconds()/upTime.Seconds(), "ratio-to-age")
				b.ReportMetric(ageDurable.Seconds()/upTime.Seconds(), "ratio-to-age-durable")
				b.ReportMetric(float64(<-streaming)/1024, "streaming-RssAnon-MiB")
				b.ReportMetric(float64(<-whole)/1024, "with-KDF-RssAnon-MiB")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}

// timeAge times the age CLI encrypting file to recipient into out, fsyncing out unless it is
// the null device.
func timeAge(b *testing.B, ageBin, recipient, file, out string) time.Duration {
	b.Helper()
	start := time.Now()
	cmd := exec.Command(ageBin, "-r", recipient, "-o", out, file)
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("age: %v\n%s", err, o)
	}
	if out != os.DevNull {
		f, err := os.OpenFile(out, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		os.Remove(out)
	}
	return time.Since(start)
}

// BenchmarkConcurrentUploads sends 50 uploads of 20 MiB at once; all must succeed (uploads over
// the cap of 8 wait for a slot). It reports the aggregate throughput and the server's peak
// anonymous RSS (8 uploads streaming plus up to 4 receipt derivations).
func BenchmarkConcurrentUploads(b *testing.B) {
	file := makeFile(b, testenv.BenchSize(20<<20, 1<<20))
	for range b.N {
		c, _ := startChild(b)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		stop := make(chan struct{})
		peak := candortest.PeakRSS(c.Cmd.Process.Pid, 20*time.Millisecond, stop)
		start := time.Now()
		for range 50 {
			wg.Go(func() {
				status, err := postFile(c.URL, file)
				if err == nil && status != 200 {
					err = fmt.Errorf("status %d", status)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(stop)
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatalf("an upload failed: %v", err)
			}
		}
		b.ReportMetric(1000/time.Since(start).Seconds(), "MiB/s")
		// VmHWM counts the store's mmapped file pages (page cache); RssAnon is the process's own.
		b.ReportMetric(float64(candortest.ProcStatusKiB(c.Cmd.Process.Pid, "VmHWM"))/1024, "VmHWM-MiB")
		b.ReportMetric(float64(<-peak)/1024, "peak-RssAnon-MiB")
		b.ReportMetric(0, "ns/op")
	}

}

// BenchmarkUploadInProcess uploads 256 MiB to an in-process server (for profiling with
// -cpuprofile; the child-process benchmarks above give the real figures).
func BenchmarkUploadInProcess(b *testing.B) {
	size := testenv.BenchSize(256<<20, 8<<20)
	file := makeFile(b, size)
	e := newEnv(b, envOptions{reviewers: 1})
	b.SetBytes(size)
	for range b.N {
		if status, err := postFile(e.url, file); err != nil || status != 200 {
			b.Fatalf("upload: %d %v", status, err)
		}
	}
}
