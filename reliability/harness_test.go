package reliability

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"candor/candortest"
	"candor/crypto"
	"candor/installation"
	"candor/internal/frame"
	"candor/server"
	"candor/server/store"
)

// reviewer is a test reviewer: its age identity and its card.
type reviewer = candortest.Reviewer

func newReviewer(t testing.TB) reviewer { return candortest.NewReviewer(t, "Reliability Reviewer") }

// dataDir is a data directory made by `candor init` with one reviewer.
type dataDir struct {
	bin, data string
	rev       reviewer
}

// newInstallation runs `candor init` in data (created if missing).
func newInstallation(t testing.TB, data string) *dataDir {
	t.Helper()
	in := &dataDir{bin: candortest.Candor(t), data: data, rev: newReviewer(t)}
	candortest.Init(t, in.bin, data, in.rev.CardFile(t, t.TempDir()))
	return in
}

// proc is a running `candor serve --dev-listen`.
type proc = candortest.Proc

// serve starts `candor serve --dev-listen 127.0.0.1:0` on the dataDir; the cleanup stops it.
func (in *dataDir) serve(t testing.TB, env ...string) *proc {
	t.Helper()
	return candortest.ServeBinary(t, in.bin, in.data, env...)
}

// payload returns n deterministic pseudo-random bytes for upload i.
func payload(i, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), 'r'}).Read(b)
	return b
}

// reportBody is a multipart report with a message and one file.
func reportBody(message, filename string, file []byte) (body []byte, contentType string) {
	return candortest.Report(message, nil, candortest.File(filename, file))
}

// client never follows redirects and never reuses a failed connection's state.
var client = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

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
	return resp.StatusCode, candortest.ReceiptCode(b), string(b), nil
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
	pt, err := crypto.Open(b.Header, b, rev.ID)
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
var cheapKDF = candortest.KDF

func newInproc(t testing.TB, limits server.Limits) *inproc {
	t.Helper()
	st, err := installation.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &inproc{st: st, rev: newReviewer(t)}
	if err := installation.Init(st, installation.InitOptions{Reviewers: [][]byte{e.rev.Card.Marshal()}, KDF: cheapKDF}); err != nil {
		t.Fatal(err)
	}
	e.srv, err = server.New(server.Config{Store: st, Limits: limits, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // registered first, so it runs after the server has stopped
	e.addr = candortest.ServeInProcess(t, func(ctx context.Context, ln net.Listener) error {
		return e.srv.Serve(ctx, ln, nil)
	})
	e.url = "http://" + e.addr
	return e
}
