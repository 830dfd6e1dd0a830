package desk

import (
	"context"
	"crypto/rand"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"candor/inbox"
	"candor/server/synctest"
)

const pass = "correct horse battery staple"

// clock is a controllable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// world is a real server (synctest) and a reviewer's inbox home registered with it.
type world struct {
	t     testing.TB
	dir   string
	home  string
	srv   *synctest.Server
	token string
	fp    string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldIn(t, t.TempDir())
}

// newWorldIn makes the world in dir, which the caller removes.
func newWorldIn(t testing.TB, dir string) *world {
	t.Helper()
	w := &world{t: t, dir: dir, home: filepath.Join(dir, "inbox")}
	card, err := inbox.Init(inbox.Config{Home: w.home, WorkFactor: 10}, "Alice Example", []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	if w.srv, err = synctest.Start(filepath.Join(dir, "srv"), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.srv.Close() })
	if w.fp, w.token, err = w.srv.AddReviewer(card.Marshal()); err != nil {
		t.Fatal(err)
	}
	return w
}

// report submits a report with files over HTTP, as a reporter's browser does.
func (w *world) report(msg string, files ...synctest.File) {
	w.t.Helper()
	if _, err := w.srv.Submit(msg, nil, files...); err != nil {
		w.t.Fatal(err)
	}
}

// pull writes the reviewer's bundle (as `candor sync pull` does) and returns its path.
func (w *world) pull() string {
	w.t.Helper()
	p := filepath.Join(w.t.TempDir(), "bundle")
	f, err := os.Create(p)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	if err := w.srv.Pull(w.token, "0", f); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// push sends an outbox file (as `candor sync push` does) and returns the envelopes accepted.
func (w *world) push(path string) int {
	w.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	n, err := w.srv.Push(w.token, f)
	if err != nil {
		w.t.Fatalf("push: %v", err)
	}
	return n
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// running is a desk served in-process on a real loopback listener.
type running struct {
	d     *Desk
	clock *clock
	url   string // with the secret and a trailing slash
	host  string // 127.0.0.1:PORT
}

func startDesk(t testing.TB, home string, unlock bool) *running {
	t.Helper()
	c := &clock{t: time.Now()}
	d, err := New(Config{Home: home, Now: c.Now, IdleLock: 10 * time.Minute, Log: log.New(tlog{t}, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		d.Close()
	})
	if unlock {
		if err := d.Unlock([]byte(pass)); err != nil {
			t.Fatal(err)
		}
	}
	return &running{d: d, clock: c, url: d.URL(ln), host: ln.Addr().String()}
}

// tlog writes the desk's log lines to the test's log.
type tlog struct{ t testing.TB }

func (l tlog) Write(b []byte) (int, error) { l.t.Log(strings.TrimSpace(string(b))); return len(b), nil }

// client does not follow redirects, so tests see them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request with the headers given as "Name: value" and returns the status and body.
func do(t testing.TB, method, url, body string, headers ...string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// state is what the tests compare to prove that a refused request changed nothing.
type state struct {
	cases   string
	pending int
}

func (r *running) state(t testing.TB) state {
	t.Helper()
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	list, err := r.d.in.List()
	if err != nil {
		t.Fatal(err)
	}
	n, err := r.d.in.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range list {
		b.WriteString(c.Case + " " + c.Status + " " + strings.Join(c.Holds, ",") + "\n")
	}
	return state{b.String(), n}
}

// importBundle imports w's bundle through the desk's inbox, trusting w's server key as a reviewer
// given its fingerprint does (the browser and flow tests do both through the page).
func (r *running) importBundle(t testing.TB, w *world) {
	t.Helper()
	path := w.pull()
	if err := r.d.do(func(in *inbox.Inbox) error {
		if err := in.TrustServer(w.srv.ServerKey()); err != nil {
			return err
		}
		_, err := in.Import(path)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func (r *running) onlyCase(t testing.TB) string {
	t.Helper()
	var list []inbox.CaseInfo
	r.d.do(func(in *inbox.Inbox) (err error) { list, err = in.List(); return err })
	if len(list) != 1 {
		t.Fatalf("got %d cases, want 1", len(list))
	}
	return list[0].Case
}
