package reliability

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"

	"candor/crypto"
	"candor/internal/testenv"
)

// BenchmarkSealVsGpg encrypts the same 64 MiB the way Candor's server does (crypto.Seal: age to a
// hybrid post-quantum recipient) and the way older platforms do it server-side (gpg --encrypt to
// an RSA-4096 key, defaults), in the same run, and reports the ratio (how many times faster Seal
// is). The gpg key is made in a temporary GNUPGHOME.
func BenchmarkSealVsGpg(b *testing.B) {
	gpg := testenv.Gpg(b)
	size := int(testenv.BenchSize(64<<20, 2<<20))
	data := payload(7, size)
	file := filepath.Join(b.TempDir(), "plain.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		b.Fatal(err)
	}
	home := b.TempDir()
	gen := exec.Command(gpg, "--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key",
		"Candor Bench <bench@candor.invalid>", "rsa4096", "encr", "never")
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("gpg key generation: %v\n%s", err, out)
	}
	rev := newReviewer(b)
	var sealTime, gpgTime time.Duration
	for range b.N {
		start := time.Now()
		w, err := crypto.Seal(io.Discard, io.Discard, []age.Recipient{rev.ID.Recipient()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		sealTime += time.Since(start)
		start = time.Now()
		enc := exec.Command(gpg, "--homedir", home, "--batch", "--yes", "--trust-model", "always",
			"-r", "bench@candor.invalid", "-o", os.DevNull, "--encrypt", file)
		if out, err := enc.CombinedOutput(); err != nil {
			b.Fatalf("gpg --encrypt: %v\n%s", err, out)
		}
		gpgTime += time.Since(start)
	}
	mib := float64(size>>20) * float64(b.N)
	b.ReportMetric(mib/sealTime.Seconds(), "seal-MiB/s")
	b.ReportMetric(mib/gpgTime.Seconds(), "gpg-MiB/s")
	b.ReportMetric(gpgTime.Seconds()/sealTime.Seconds(), "ratio-to-gpg")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWrk loads GET / and GET /report of `candor serve` with wrk for 10 s each over 50
// connections (2 threads) and reports requests per second, the 99th-percentile latency and the
// errors (socket errors and non-2xx answers). A benchmark, not a test: nothing is asserted.
func BenchmarkWrk(b *testing.B) {
	wrk := testenv.Wrk(b)
	in := newInstallation(b, b.TempDir())
	p := in.serve(b)
	for _, path := range []string{"/", "/report"} {
		b.Run(path, func(b *testing.B) {
			for range b.N {
				out, err := exec.Command(wrk, "-t2", "-c50", "-d"+fmt.Sprint(testenv.BenchCount(10, 2))+"s", "--latency", p.URL+path).CombinedOutput()
				if err != nil {
					b.Fatalf("wrk: %v\n%s", err, out)
				}
				rps, p99, errs := parseWrk(out)
				b.ReportMetric(rps, "req/s")
				b.ReportMetric(p99, "p99-ms")
				b.ReportMetric(errs, "errors")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}

// parseWrk reads requests/s, the p99 latency (ms) and the error count from wrk --latency output.
func parseWrk(out []byte) (rps, p99ms, errs float64) {
	if m := regexp.MustCompile(`Requests/sec:\s+([\d.]+)`).FindSubmatch(out); m != nil {
		rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := regexp.MustCompile(`\s99%\s+([\d.]+)(us|ms|s)`).FindSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		p99ms = v * map[string]float64{"us": 0.001, "ms": 1, "s": 1000}[string(m[2])]
	}
	if m := regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`).FindSubmatch(out); m != nil {
		n, _ := strconv.ParseFloat(string(m[1]), 64)
		errs += n
	}
	if m := regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`).FindSubmatch(out); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.ParseFloat(string(g), 64)
			errs += n
		}
	}
	return rps, p99ms, errs
}
