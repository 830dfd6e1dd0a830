package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"candor/inbox"
	"candor/internal/testenv"
	"candor/server/synctest"
)

// rawExport sets up an inbox holding one report and exports its blob with --raw. It returns the
// inbox home, the passphrase file and the .age file.
func rawExport(t testing.TB, message string, attachment []byte) (home, passFile, blob string) {
	t.Helper()
	dir := t.TempDir()
	home, passFile = filepath.Join(dir, "inbox"), filepath.Join(dir, "pass")
	os.WriteFile(passFile, []byte(testPassphrase+"\n"), 0o600)
	card, err := inbox.Init(inbox.Config{Home: home, WorkFactor: 10}, "Alice", []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := synctest.Start(filepath.Join(dir, "srv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, token, err := srv.AddReviewer(card.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	var files []synctest.File
	if attachment != nil {
		files = append(files, synctest.File{Name: "big.bin", Body: attachment})
	}
	if _, err := srv.Submit(message, nil, files...); err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "bundle")
	f, _ := os.Create(bundlePath)
	if err := srv.Pull(token, "", f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The first import opens the reviewer's addressing key: it needs the passphrase.
	in, err := inbox.Open(inbox.Config{Home: home, Passphrase: func() ([]byte, error) { return []byte(testPassphrase), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.TrustServer(srv.ServerKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Import(bundlePath); err != nil {
		t.Fatal(err)
	}
	cs, _ := in.List()
	names, err := in.Export(cs[0].Case, filepath.Join(dir, "raw"), inbox.ExportOptions{Raw: true})
	if err != nil || len(names) != 1 {
		t.Fatalf("raw export: %v %v", names, err)
	}
	return home, passFile, filepath.Join(dir, "raw", names[0])
}

const testPassphrase = "correct horse battery staple"

// TestStockAgeDecryptsRawExport: the stock age CLI decrypts a --raw blob with the inbox's
// passphrase-encrypted identity file, both interactively (under a pseudo-terminal, as a reviewer
// types the passphrase) and non-interactively (age-plugin-batchpass opens the identity file).
func TestStockAgeDecryptsRawExport(t *testing.T) {
	ageBin := testenv.Age(t)
	const message = "interop: the stock age CLI reads this"
	home, _, blob := rawExport(t, message, nil)
	identity := filepath.Join(home, inbox.IdentityFile)
	check := func(name string, out []byte) {
		t.Helper()
		if !bytes.HasPrefix(out, []byte("candor-frame/v1\n")) || !bytes.Contains(out, []byte(message)) {
			t.Errorf("%s: decrypted %d bytes without the message", name, len(out))
		}
	}
	t.Run("batchpass", func(t *testing.T) {
		// AGE_PASSPHRASE=… age -d -j batchpass identity.age | age -d -i - blob.age
		dec := exec.Command(ageBin, "-d", "-j", "batchpass", identity)
		dec.Env = append(os.Environ(), "AGE_PASSPHRASE="+testPassphrase,
			"PATH="+filepath.Dir(ageBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		key, err := dec.Output()
		if err != nil {
			t.Fatalf("age -d -j batchpass identity.age: %v", err)
		}
		use := exec.Command(ageBin, "-d", "-i", "-", blob)
		use.Stdin = bytes.NewReader(key)
		out, err := use.Output()
		if err != nil {
			t.Fatalf("age -d -i - blob: %v", err)
		}
		check("batchpass", out)
	})
	t.Run("pty", func(t *testing.T) {
		script, err := exec.LookPath("script")
		if err != nil {
			t.Skip("script (util-linux) not found: apt-get install bsdutils")
		}
		out := filepath.Join(t.TempDir(), "plain")
		cmd := exec.Command(script, "-qec", strings.Join([]string{ageBin, "-d", "-i", identity, "-o", out, blob}, " "), "/dev/null")
		cmd.Stdin = strings.NewReader(testPassphrase + "\n")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("age -d -i identity.age under a pty: %v\n%s", err, b)
		}
		b, _ := os.ReadFile(out)
		check("pty", b)
	})
}

// BenchmarkExport1GiB exports a case holding a 1 GiB attachment (decrypt, unframe, write) and,
// in the same run, decrypts the same blob with the stock age CLI to a file; it reports both
// throughputs and their ratio. CANDOR_BENCH_MIB overrides the size.
func BenchmarkExport1GiB(b *testing.B) {
	ageBin := testenv.Age(b)
	mib := testenv.BenchCount(1024, 16)
	if v, err := strconv.Atoi(os.Getenv("CANDOR_BENCH_MIB")); err == nil && v > 0 {
		mib = v
	}
	data := make([]byte, mib<<20)
	rand.Read(data[:1<<20])
	for i := 1 << 20; i < len(data); i *= 2 {
		copy(data[i:], data[:i])
	}
	home, _, blob := rawExport(b, "a big case", data)
	data = nil
	dec := exec.Command(ageBin, "-d", "-j", "batchpass", filepath.Join(home, inbox.IdentityFile))
	dec.Env = append(os.Environ(), "AGE_PASSPHRASE="+testPassphrase,
		"PATH="+filepath.Dir(ageBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	key, err := dec.Output()
	if err != nil {
		b.Fatal(err)
	}
	in, err := inbox.Open(inbox.Config{Home: home, Passphrase: func() ([]byte, error) { return []byte(testPassphrase), nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	cs, _ := in.List()
	var candor, stock time.Duration
	b.SetBytes(int64(mib) << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		if _, err := in.Export(cs[0].Case, filepath.Join(dir, "plain"), inbox.ExportOptions{}); err != nil {
			b.Fatal(err)
		}
		candor += time.Since(start)
		start = time.Now()
		cmd := exec.Command(ageBin, "-d", "-i", "-", "-o", filepath.Join(dir, "stock"), blob)
		cmd.Stdin = bytes.NewReader(key)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("age -d: %v\n%s", err, out)
		}
		stock += time.Since(start)
		os.RemoveAll(dir)
	}
	mb := float64(int64(mib)<<20) * float64(b.N) / 1e6
	b.ReportMetric(mb/candor.Seconds(), "export-MB/s")
	b.ReportMetric(mb/stock.Seconds(), "age-MB/s")
	b.ReportMetric(candor.Seconds()/stock.Seconds(), "export/age")
}
