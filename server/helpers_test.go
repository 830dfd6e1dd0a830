package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"candor/crypto"
	"candor/internal/frame"
	"candor/server/store"
)

// testKDF is the cheapest derivation NewDeriver accepts.
var testKDF = crypto.KDFParams{Memory: crypto.MinKDFMemory, Time: crypto.MinKDFTime, Threads: 1}

// testReviewer is a reviewer whose keys the test holds.
type testReviewer struct {
	id   *age.HybridIdentity
	sk   *crypto.SigningKey
	card *crypto.Card
	fp   string
}

func newTestReviewer(t testing.TB, name string) testReviewer {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	card, err := crypto.NewCard(name, id.Recipient().String(), sk)
	if err != nil {
		t.Fatal(err)
	}
	return testReviewer{id: id, sk: sk, card: card, fp: card.Fingerprint()}
}

// env is a server on a loopback listener with a real store in a temporary directory.
type env struct {
	t         testing.TB
	dir       string
	st        *store.Store
	srv       *Server
	url       string
	addr      string
	reviewers []testReviewer
	clock     *clock
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type envOptions struct {
	limits    Limits
	reviewers int
	settings  *Settings
	log       io.Writer // server log output; nil discards
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.reviewers == 0 {
		o.reviewers = 2
	}
	e := &env{t: t, dir: t.TempDir(), clock: &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}}
	st, err := OpenStore(e.dir, e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	opts := InitOptions{KDF: testKDF, Now: e.clock.now, Settings: o.settings}
	for i := range o.reviewers {
		r := newTestReviewer(t, fmt.Sprintf("Reviewer %c", 'A'+i))
		e.reviewers = append(e.reviewers, r)
		opts.Reviewers = append(opts.Reviewers, r.card.Marshal())
	}
	if err := Init(st, opts); err != nil {
		t.Fatal(err)
	}
	logw := o.log
	if logw == nil {
		logw = io.Discard
	}
	e.srv, err = New(Config{Store: st, Now: e.clock.now, Limits: o.limits, MaxKDF: 2,
		Log: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))})
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
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		st.Close()
	})
	return e
}

// client returns an HTTP client with a cookie jar that does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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

// multipartBody encodes parts; filenames are written raw (no escaping), as hostile clients do.
func multipartBody(parts ...part) (body []byte, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p.name)
		if p.name == "file" {
			cd += fmt.Sprintf(`; filename="%s"`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		pw, _ := w.CreatePart(h)
		pw.Write(p.body)
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
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

var receiptRE = regexp.MustCompile(`id="receipt-code">([^<]+)<`)

// submit posts a report and returns the receipt code.
func (e *env) submit(parts ...part) string {
	e.t.Helper()
	body, ct := multipartBody(parts...)
	resp, page := e.post(e.client(), "/report", ct, bytes.NewReader(body))
	if resp.StatusCode != 200 {
		e.t.Fatalf("POST /report: got status %d, want 200\n%s", resp.StatusCode, page)
	}
	m := receiptRE.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no receipt code on the page:\n%s", page)
	}
	return m[1]
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

// syncWriter serialises writes to w (the server logs from many goroutines).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
