package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"candor/admin"
	"candor/candortest"
	"candor/crypto"
	"candor/installation"
	"candor/internal/frame"
	"candor/internal/torcircuit"
	"candor/server/circuit"
	"candor/server/store"
)

// testKDF is the cheapest derivation NewDeriver accepts.
var testKDF = candortest.KDF

// testReviewer is a reviewer whose keys the test holds.
type testReviewer struct {
	id   *age.HybridIdentity
	sk   *crypto.SigningKey
	card *crypto.Card
	fp   string
}

func newTestReviewer(t testing.TB, name string) testReviewer {
	t.Helper()
	r := candortest.NewReviewer(t, name)
	return testReviewer{id: r.ID, sk: r.Key, card: r.Card, fp: r.FP}
}

// env is a server on a loopback listener with a real store in a temporary directory.
type env struct {
	t           testing.TB
	dir         string
	st          *store.Store
	srv         *Server
	url         string
	addr        string
	reviewers   []testReviewer
	clock       *clock
	circuits    bool   // served through a torcircuit.Listener
	lastCircuit uint32 // the circuit of the last client()
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type envOptions struct {
	limits    Limits
	reviewers int
	settings  *installation.Settings
	log       io.Writer // server log output; nil discards
	// circuits serves through a torcircuit.Listener, as on tor's socket: clients from
	// circuitClient send tor's PROXY header first. keeper, if set, keeps the budgets.
	circuits bool
	keeper   *circuit.Keeper
	// receiptsAhead: receipts derived before submissions need them (Config.ReceiptsAhead).
	receiptsAhead int
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.reviewers == 0 {
		o.reviewers = 2
	}
	e := &env{t: t, dir: t.TempDir(), clock: &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}}
	st, err := installation.OpenStore(e.dir, e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	opts := installation.InitOptions{KDF: testKDF, Now: e.clock.now, Settings: o.settings}
	for i := range o.reviewers {
		r := newTestReviewer(t, fmt.Sprintf("Reviewer %c", 'A'+i))
		e.reviewers = append(e.reviewers, r)
		opts.Reviewers = append(opts.Reviewers, r.card.Marshal())
	}
	if err := installation.Init(st, opts); err != nil {
		t.Fatal(err)
	}
	logw := o.log
	if logw == nil {
		logw = io.Discard
	}
	e.srv, err = New(Config{Store: st, Now: e.clock.now, Limits: o.limits, MaxKDF: 2, Circuits: o.keeper, ReceiptsAhead: o.receiptsAhead,
		Log: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // registered first, so it runs after the server has stopped
	e.circuits = o.circuits
	e.addr = candortest.ServeInProcess(t, func(ctx context.Context, ln net.Listener) error {
		if o.circuits {
			ln = torcircuit.NewListener(ln, 0)
		}
		return e.srv.Serve(ctx, ln, nil)
	})
	e.url = "http://" + e.addr
	return e
}

// client returns an HTTP client with a cookie jar that does not follow redirects (on an env with
// circuits, on a circuit of its own).
func (e *env) client() *http.Client {
	if e.circuits {
		e.lastCircuit++
		return e.circuitClient(1<<20 + e.lastCircuit)
	}
	return e.plainClient()
}

func (e *env) plainClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// circuitClient returns a client whose connections come "from tor" on circuit id: each opens with
// the PROXY header tor writes (torcircuit.Format), as on the public service's socket.
func (e *env) circuitClient(id uint32) *http.Client {
	c := e.plainClient()
	var d net.Dialer
	c.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Write(torcircuit.Format(torcircuit.Header{Circuit: id, VirtualPort: 80})); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}}
	return c
}

// counts is everything of the store a failed request must leave unchanged.
type counts struct {
	Cases, Blobs, Pending int
	Bytes, PendingBytes   int64
	LogSize               int64
	FeedHead              uint64
}

func (e *env) counts() counts {
	e.t.Helper()
	s, err := e.st.Stats()
	if err != nil {
		e.t.Fatal(err)
	}
	return counts{s.Cases, s.Blobs, s.Pending, s.Bytes, s.PendingBytes, s.LogSize, s.FeedHead}
}

// part is one multipart field or file.
type part struct {
	name, filename, ctype string
	body                  []byte
}

func textPart(name, v string) part { return part{name: name, body: []byte(v)} }

func filePart(filename string, body []byte) part {
	return part{name: "file", filename: filename, ctype: "application/octet-stream", body: body}
}

// multipartBody encodes parts (candortest.Multipart); filenames are written raw (no escaping), as
// hostile clients do.
func multipartBody(parts ...part) (body []byte, contentType string) {
	ps := make([]candortest.Part, len(parts))
	for i, p := range parts {
		ps[i] = candortest.Part{Name: p.name, Filename: p.filename, ContentType: p.ctype, Body: p.body}
	}
	return candortest.Multipart(ps...)
}

func (e *env) post(c *http.Client, path, ctype string, body io.Reader) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) get(c *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.Get(e.url + path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// submit posts a report and returns the receipt code.
func (e *env) submit(parts ...part) string {
	e.t.Helper()
	body, ct := multipartBody(parts...)
	resp, page := e.post(e.client(), "/report", ct, bytes.NewReader(body))
	if resp.StatusCode != 200 {
		e.t.Fatalf("POST /report: got status %d, want 200\n%s", resp.StatusCode, page)
	}
	code := candortest.ReceiptCode([]byte(page))
	if code == "" {
		e.t.Fatalf("no receipt code on the page:\n%s", page)
	}
	return code
}

// login logs in with code and returns the client holding the session.
func (e *env) login(code string) *http.Client {
	e.t.Helper()
	c := e.client()
	resp, page := e.post(c, "/followup", "application/x-www-form-urlencoded",
		strings.NewReader("receipt="+strings.ReplaceAll(code, " ", "+")))
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: got status %d, want 303\n%s", resp.StatusCode, page)
	}
	return c
}

// onlyCase returns the only case of the store.
func (e *env) onlyCase() *store.Case {
	e.t.Helper()
	var cs []*store.Case
	e.st.Cases(func(c *store.Case) error { cs = append(cs, c); return nil })
	if len(cs) != 1 {
		e.t.Fatalf("got %d cases, want 1", len(cs))
	}
	return cs[0]
}

// decryptedPart is one part of a decrypted submission.
type decryptedPart struct {
	kind frame.Kind
	name string
	body []byte
}

// decrypt opens a blob with id and returns its parts.
func (e *env) decrypt(blob store.BlobID, id age.Identity) []decryptedPart {
	e.t.Helper()
	b, err := e.st.OpenBlob(blob)
	if err != nil {
		e.t.Fatal(err)
	}
	pt, err := crypto.Open(b.Header, b, id)
	if err != nil {
		e.t.Fatal(err)
	}
	fr := frame.NewReader(pt)
	var out []decryptedPart
	for {
		p, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			e.t.Fatal(err)
		}
		body, err := io.ReadAll(fr)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, decryptedPart{p.Kind, p.Name, body})
	}
}

// logBuffer is a log destination the server writes from many goroutines while a test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is what was logged so far.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset forgets what was logged so far.
func (l *logBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// jobs are the periodic jobs over the env's store, with the server's log and clock.
func (e *env) jobs() *admin.Jobs { return &admin.Jobs{Store: e.st, Log: e.srv.log, Now: e.srv.now} }
