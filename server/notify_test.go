package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"candor/admin"
	"candor/installation"
	"candor/internal/day"
)

// hook is a loopback webhook receiver that records request bodies.
type hook struct {
	mu     sync.Mutex
	bodies []string
	status int
}

func newHook(t *testing.T) (*hook, *httptest.Server) {
	h := &hook{status: http.StatusNoContent}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		h.bodies = append(h.bodies, string(b))
		w.WriteHeader(h.status)
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...)
}

func TestNotifierUpdate(t *testing.T) {
	h, srv := newHook(t)
	n, err := admin.NewNotifier(srv.URL+"/hook", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := day.Day(20000)
	steps := []struct {
		today day.Day
		n     int
		sent  bool
	}{
		{d, 0, false},     // nothing to say
		{d, 2, true},      // something needs attention
		{d, 2, false},     // same number, same day
		{d, 3, true},      // the number changed
		{d + 1, 3, true},  // a new day: once a day while not zero
		{d + 1, 3, false}, // not twice that day
		{d + 1, 0, true},  // all clear
		{d + 2, 0, false}, // no daily "0"
	}
	var want []string
	for i, st := range steps {
		if got := n.Update(context.Background(), st.today, admin.Report{Attention: st.n}); got != st.sent {
			t.Errorf("step %d: sent %v, want %v", i, got, st.sent)
		}
		if st.sent {
			want = append(want, `{"attention":`+string(rune('0'+st.n))+`}`)
		}
	}
	if got := h.got(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("bodies: got %q, want %q", got, want)
	}
}

// TestNotifierFailureHidesQuery: a failing webhook is logged and retried; neither the log nor the
// error shows the URL's query string (where tokens live).
func TestNotifierFailureHidesQuery(t *testing.T) {
	const secret = "s3cr3t-token-value"
	h, srv := newHook(t)
	h.status = http.StatusInternalServerError
	var logBuf bytes.Buffer
	n, err := admin.NewNotifier(srv.URL+"/hook?token="+secret, nil, slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if n.Update(context.Background(), 1, admin.Report{Attention: 5}) {
		t.Error("a failed notification counted as sent")
	}
	h.mu.Lock()
	h.status = http.StatusOK
	h.mu.Unlock()
	if !n.Update(context.Background(), 1, admin.Report{Attention: 5}) {
		t.Error("the failed notification was not retried")
	}
	srv.Close() // now unreachable: a transport error, which url.Error would print in full
	err = n.Notify(context.Background(), admin.Report{Attention: 6})
	if err == nil {
		t.Fatal("notify to a closed server succeeded")
	}
	n.Update(context.Background(), 2, admin.Report{Attention: 7})
	for _, s := range []string{err.Error(), logBuf.String()} {
		if strings.Contains(s, secret) || strings.Contains(s, "token=") {
			t.Errorf("the query string leaked: %q", s)
		}
	}
	if !strings.Contains(logBuf.String(), "/hook") || !strings.Contains(logBuf.String(), "status 500") {
		t.Errorf("the log does not say which hook failed how: %q", logBuf.String())
	}
}

func TestNewNotifierRejects(t *testing.T) {
	for _, u := range []string{"", "ftp://example.org/x", "/relative", "http://", "://bad"} {
		if _, err := admin.NewNotifier(u, nil, nil); !errors.Is(err, admin.ErrNotifyURL) {
			t.Errorf("%q: got %v, want ErrNotifyURL", u, err)
		}
	}
}

// TestNotifyTick: the server counts a new, unacknowledged report and sends only the number.
func TestNotifyTick(t *testing.T) {
	h, srv := newHook(t)
	e := newEnv(t, envOptions{})
	n, err := admin.NewNotifier(srv.URL, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.jobs().NotifyTick(context.Background(), n) {
		t.Error("notified with no case")
	}
	rc := e.submitCase(installation.DefaultCategory, "x")
	if !e.jobs().NotifyTick(context.Background(), n) {
		t.Fatal("no notification for a new case")
	}
	got := h.got()
	if len(got) != 1 || got[0] != `{"attention":1}` {
		t.Errorf("got %q, want one {\"attention\":1}", got)
	}
	if strings.Contains(strings.Join(got, ""), rc.c.ID.String()) {
		t.Error("the notification names the case")
	}
}

// TestNotifierUnusualRate: the notifier adds "unusual_rate":true while today's submissions are
// unusually many, and sends again when that changes.
func TestNotifierUnusualRate(t *testing.T) {
	h, srv := newHook(t)
	n, err := admin.NewNotifier(srv.URL, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := day.Day(20000)
	n.Update(context.Background(), d, admin.Report{Attention: 1})
	n.Update(context.Background(), d, admin.Report{Attention: 1, UnusualRate: true})
	n.Update(context.Background(), d, admin.Report{Attention: 1, UnusualRate: true})
	n.Update(context.Background(), d, admin.Report{Attention: 1})
	want := []string{`{"attention":1}`, `{"attention":1,"unusual_rate":true}`, `{"attention":1}`}
	if got := h.got(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("bodies %q, want %q", got, want)
	}
}
