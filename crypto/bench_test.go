//go:build unix

package crypto

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"candor/internal/testenv"
	"filippo.io/age"
)

const sealBenchSize = 256 << 20

// BenchmarkSeal256MiB seals 256 MiB from memory to one hybrid recipient into io.Discard and
// reports the peak live heap while sealing: it must not grow with the plaintext.
func BenchmarkSeal256MiB(b *testing.B) {
	recipients := []age.Recipient{newHybridIdentity(b).Recipient()}
	chunk := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(chunk)
	b.SetBytes(sealBenchSize)
	b.ReportAllocs()
	peak := watchHeap()
	for b.Loop() {
		w, err := Seal(io.Discard, io.Discard, recipients)
		if err != nil {
			b.Fatal(err)
		}
		for range sealBenchSize / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
}

// BenchmarkSealVsAgeCLI encrypts the same 256 MiB file to the same hybrid recipient with Seal and
// with the stock age CLI, both writing to /dev/null, and reports both throughputs, their ratio
// (candor/age) and peak memory: Seal's peak live heap and the CLI's maximum resident set size.
func BenchmarkSealVsAgeCLI(b *testing.B) {
	ageBin := testenv.Age(b)
	file := writeBenchFile(b)
	recipient := newHybridIdentity(b).Recipient()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()

	var ours, theirs time.Duration
	var cliMaxRSS int64
	peak := watchHeap()
	for b.Loop() {
		start := time.Now()
		sealFile(b, file, devNull, recipient)
		ours += time.Since(start)

		start = time.Now()
		cmd := exec.Command(ageBin, "-r", recipient.String(), file)
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = devNull, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("age: %v\n%s", err, stderr.String())
		}
		theirs += time.Since(start)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			cliMaxRSS = max(cliMaxRSS, int64(ru.Maxrss)) // KiB on Linux
		}
	}
	n := float64(b.N)
	oursMBps := sealBenchSize * n / ours.Seconds() / 1e6
	theirsMBps := sealBenchSize * n / theirs.Seconds() / 1e6
	b.ReportMetric(oursMBps, "candor-MB/s")
	b.ReportMetric(theirsMBps, "age-cli-MB/s")
	b.ReportMetric(oursMBps/theirsMBps, "ratio")
	b.ReportMetric(float64(peak())/(1<<20), "candor-peak-heap-MiB")
	b.ReportMetric(float64(cliMaxRSS)/1024, "age-cli-maxrss-MiB")
	if oursMBps/theirsMBps < 0.8 {
		b.Logf("Seal reached only %.2f of the age CLI's throughput (want at least 0.8)", oursMBps/theirsMBps)
	}
}

// sealFile seals the file at path (the header and payload both go to dst).
func sealFile(b *testing.B, path string, dst io.Writer, r age.Recipient) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, err := Seal(dst, dst, []age.Recipient{r})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(w, f); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func writeBenchFile(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "plain.bin")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	src := io.LimitReader(rand.NewChaCha8([32]byte{2}), sealBenchSize)
	if _, err := io.CopyBuffer(f, src, make([]byte, 1<<20)); err != nil {
		b.Fatal(err)
	}
	return path
}

// watchHeap samples the live heap every millisecond (runtime/metrics, no stop-the-world) until
// the returned function is called, which returns the peak in bytes above the starting level.
func watchHeap() func() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if v := read(); v > base {
					peak = max(peak, v-base)
				}
			}
		}
	})
	return func() uint64 { close(stop); wg.Wait(); return peak }
}

func BenchmarkDerive(b *testing.B) {
	d, err := NewDeriver(testSalt, DefaultKDFParams(), 1)
	if err != nil {
		b.Fatal(err)
	}
	r, _ := NewReceipt(testRand(1))
	for b.Loop() {
		k, err := d.Derive(context.Background(), r)
		if err != nil {
			b.Fatal(err)
		}
		k.Wipe()
	}
}

func BenchmarkSignVerify(b *testing.B) {
	k := testSigningKey(b, 1)
	msg := make([]byte, 1024)
	for b.Loop() {
		sig, err := k.Sign("candor/envelope", msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := k.Public().Verify("candor/envelope", msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
