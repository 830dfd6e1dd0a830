package reliability

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"candor/crypto"
	"candor/internal/frame"
	"candor/server"
	"candor/server/store"
)

// buildCandor builds cmd/candor once per test binary.
var buildCandor = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "candor-reliability-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "candor")
	out, err := exec.Command("go", "build", "-o", bin, "candor/cmd/candor").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// reviewer is a test reviewer: its age identity and its card.
type reviewer struct {
	id   *age.HybridIdentity
	card *crypto.Card
}

func newReviewer(t testing.TB) reviewer {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := crypto.GenerateSigningKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	card, err := crypto.NewCard("Reliability Reviewer", id.Recipient().String(), sk)
	if err != nil {
		t.Fatal(err)
	}
	return reviewer{id: id, card: card}
}

// installation is a data directory made by `candor init` with one reviewer.
type installation struct {
	bin, data string
	rev       reviewer
}

// newInstallation runs `candor init` in data (created if missing).
func newInstallation(t testing.TB, data string) *installation {
	t.Helper()
	bin, err := buildCandor()
	if err != nil {
		t.Fatal(err)
	}
	in := &installation{bin: bin, data: data, rev: newReviewer(t)}
	card := filepath.Join(t.TempDir(), "card.txt")
	if err := os.WriteFile(card, in.rev.card.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "init", "--data", data, "--reviewer", card).CombinedOutput(); err != nil {
		t.Fatalf("candor init: %v\n%s", err, out)
	}
	return in
}

// proc is a running `candor serve --dev-listen`.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	done   chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve starts `candor serve --dev-listen 127.0.0.1:0` on the installation; the cleanup stops it.
func (in *installation) serve(t testing.TB, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(in.bin, "serve", "--data", in.data, "--dev-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("candor serve printed no address: %v\n%s", err, p.stderr)
	}
	if p.url = regexp.MustCompile(`http://\S+`).FindString(line); p.url == "" {
		t.Fatalf("no address in %q", line)
	}
	return p
}

// stop interrupts the server and waits for it (a no-op once it has exited).
func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	<-p.done
}

// kill SIGKILLs the server and waits for it.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// rssKiB reads a field such as RssAnon of /proc/PID/status, in KiB (-1 if unavailable).
func rssKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return -1
}

// peakRSS samples pid's anonymous RSS every 10 ms until stop is closed and sends the peak (KiB).
func peakRSS(pid int, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, rssKiB(pid, "RssAnon"))
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// payload returns n deterministic pseudo-random bytes for upload i.
func payload(i, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), 'r'}).Read(b)
	return b
}

// reportBody is a multipart report with a message and one file.
func reportBody(message, filename string, file []byte) (body []byte, contentType string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("message", message)
	w, _ := mw.CreateFormFile("file", filename)
	w.Write(file)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// client never follows redirects and never reuses a failed connection's state.
var client = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

var receiptRE = regexp.MustCompile(`id="receipt-code">([^<]+)<`)

// report posts a report and returns the status, the receipt code (if any) and the page.
func report(base, message, filename string, file []byte) (status int, receipt, page string, err error) {
	body, ct := reportBody(message, filename, file)
	resp, err := client.Post(base+"/report", ct, bytes.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", "", err
	}
	if m := receiptRE.FindSubmatch(b); m != nil {
		receipt = string(m[1])
	}
	return resp.StatusCode, receipt, string(b), nil
}

// login posts a receipt code and returns the status and Location.
func login(base, code string) (int, string, error) {
	resp, err := client.PostForm(base+"/followup", url.Values{"receipt": {code}})
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// errorPage reports whether page is Candor's fixed error page (frontend/templates/error.html: a
// heading, a lead paragraph with the message and a way back) or a form shown again with its
// problem (role="alert", as the receipt login does).
func errorPage(page string) bool {
	return strings.Contains(page, `<p class="lead">`) && strings.Contains(page, `class="action"`) ||
		strings.Contains(page, `role="alert"`)
}

// decryptReport opens a committed blob with the reviewer's identity and returns its message and
// its first file.
func decryptReport(t testing.TB, st *store.Store, id store.BlobID, rev reviewer) (message string, file []byte) {
	t.Helper()
	b, err := st.OpenBlob(id)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := crypto.Open(b.Header, b, rev.id)
	if err != nil {
		t.Fatal(err)
	}
	fr := frame.NewReader(pt)
	for {
		p, err := fr.Next()
		if err == io.EOF {
			return message, file
		}
		if err != nil {
			t.Fatalf("reading the frames of blob %x: %v", id, err)
		}
		body, err := io.ReadAll(fr)
		if err != nil {
			t.Fatalf("reading a part of blob %x: %v", id, err)
		}
		switch {
		case p.Kind == frame.KindMessage:
			message = string(body)
		case p.Kind == frame.KindFile && file == nil:
			file = body
		}
	}
}

// stateOf returns the store's counts: what the hostile-input tests compare before and after.
func stateOf(t testing.TB, st *store.Store) store.Stats {
	t.Helper()
	s, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	s.FileSize = 0 // bbolt may grow the file for a refused request's rolled-back transaction
	return s
}

// inproc is an in-process server over a real store in a temporary directory, with a cheap KDF.
type inproc struct {
	st   *store.Store
	srv  *server.Server
	url  string
	addr string
	rev  reviewer
}

// cheapKDF keeps the in-process tests fast; the child-process tests use the default.
var cheapKDF = crypto.KDFParams{Memory: crypto.MinKDFMemory, Time: crypto.MinKDFTime, Threads: 1}

func newInproc(t testing.TB, limits server.Limits) *inproc {
	t.Helper()
	st, err := server.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &inproc{st: st, rev: newReviewer(t)}
	if err := server.Init(st, server.InitOptions{Reviewers: [][]byte{e.rev.card.Marshal()}, KDF: cheapKDF}); err != nil {
		t.Fatal(err)
	}
	e.srv, err = server.New(server.Config{Store: st, Limits: limits, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.url = "http://" + e.addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	return e
}
