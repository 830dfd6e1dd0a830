package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"candor/internal/day"
)

// ErrNotifyURL is wrapped by NewNotifier's errors.
var ErrNotifyURL = errors.New("invalid notification URL")

// notifyTimeout bounds one webhook request.
const notifyTimeout = 30 * time.Second

// Notifier is the optional content-free webhook (candor serve --notify-url): it POSTs
// {"attention":N} — the number of cases that need a reviewer's attention (see Attention) — and,
// while today's submissions are unusually many (server/circuit's Detector: counts per day only),
// "unusual_rate":true, and nothing else: no case identifier, category, date or content. It sends
// at most once a day, or sooner when either changes. Its errors and log lines name the URL without its query string,
// fragment or user info (which often carry a token). Build it with NewNotifier; it is safe for
// concurrent use.
type Notifier struct {
	url    string // as given; never logged
	shown  string // scheme://host/path, for errors and logs
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex
	sent    bool
	last    Report
	lastDay day.Day
}

// Report is what the notifier sends.
type Report struct {
	Attention   int  `json:"attention"`              // cases needing a reviewer's attention
	UnusualRate bool `json:"unusual_rate,omitempty"` // today's submissions are unusually many
}

// NewNotifier returns a Notifier for an http or https URL. client nil uses a client with a 30 s
// timeout that does not follow redirects; log nil discards.
func NewNotifier(rawURL string, client *http.Client, log *slog.Logger) (*Notifier, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: want http:// or https:// with a host", ErrNotifyURL)
	}
	if client == nil {
		client = &http.Client{Timeout: notifyTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	return &Notifier{url: rawURL, shown: shown, client: client, log: log}, nil
}

// Notify POSTs r once, whatever was sent before. Its error names the URL without its query
// string.
func (n *Notifier) Notify(ctx context.Context, r Report) error {
	body := []byte(`{"attention":` + strconv.Itoa(r.Attention))
	if r.UnusualRate {
		body = append(body, `,"unusual_rate":true`...)
	}
	body = append(body, '}')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.shown, ErrNotifyURL)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "candor")
	resp, err := n.client.Do(req)
	if err != nil {
		if ue := new(url.Error); errors.As(err, &ue) {
			err = ue.Err // url.Error would print the whole URL, query included
		}
		return fmt.Errorf("notify %s: %w", n.shown, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify %s: status %d", n.shown, resp.StatusCode)
	}
	return nil
}

// Update sends r if it differs from the last report sent, or if a day (today) began since the
// last send and r is not all clear. It reports whether it sent. A failed send is logged (URL
// without query) and retried at the next Update.
func (n *Notifier) Update(ctx context.Context, today day.Day, r Report) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear := r == Report{}
	changed := r != n.last || (!n.sent && !clear)
	if !changed && (clear || today == n.lastDay) {
		return false
	}
	if err := n.Notify(ctx, r); err != nil {
		n.log.Error("notification failed", "err", err)
		return false
	}
	n.sent, n.last, n.lastDay = true, r, today
	return true
}
