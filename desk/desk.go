// Package desk is the reviewer's desk: a local web UI over an inbox home, for reviewers who do not
// use a shell. It does what candor-inbox does — unlock the keys with the passphrase, import a
// bundle, list cases (overdue first, filtered, searched), read a case (messages, files to
// download, replies, internal notes, signed events, what the case log says), reply with files (or
// as the feedback), note, assign the lead, share, delete early with a reason, set the status with
// its outcome, place or lift a hold, record an oral report, show statistics (CSV too), download a
// casefile, write the outbox — each action one call of package inbox, the same call the CLI
// makes, so the two never disagree.
//
// It is a plain net/http server for one person on one machine, and is careful about who else may
// talk to it:
//
//   - It listens on a loopback address only ([Listen] refuses any other) and never dials out.
//   - Every URL carries a per-launch secret in its path: http://127.0.0.1:PORT/s/SECRET/cases.
//     [Desk.URL] is the one address to open. The secret is checked in constant time on every
//     request; the stylesheet and logo under /static/ are the only paths without it. The secret
//     stays in the path rather than in a cookie because browsers send a cookie for 127.0.0.1 to
//     every port of 127.0.0.1: any other local web service the reviewer's browser visits would
//     receive it. A path secret goes only where the page links, and Referrer-Policy no-referrer
//     keeps it out of Referer headers.
//   - The Host header must be the exact loopback address and port it listens on (so a web page on
//     a rebinding DNS name cannot reach it), and a request the browser marks as coming from another
//     site (Sec-Fetch-Site cross-site or same-site, which covers another port on 127.0.0.1) is
//     refused. A POST must come from this origin: its Origin header must be this desk's, or, without
//     Origin, Sec-Fetch-Site must say same-origin; a POST with neither is refused.
//   - Every response carries the reporter pages' headers: a Content-Security-Policy without scripts,
//     no-store, nosniff, no-referrer, frame-ancestors 'none'. The pages have no JavaScript at all.
//   - The decrypted keys stay in memory only while unlocked (inbox.Inbox.Unlock). After IdleLock
//     without a request, or on "Lock", they are overwritten and forgotten, and every page asks for
//     the passphrase again.
//
// Plaintext never touches the disk: reply and intake attachments are read into memory (never a multipart temp
// file), downloads are decrypted while they stream, and the only temporary file, an uploaded bundle,
// holds ciphertext.
package desk

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"candor/frontend"
	"candor/inbox"
)

// DefaultIdleLock is the idle time after which the desk locks when Config.IdleLock is zero.
const DefaultIdleLock = 15 * time.Minute

// Config configures New.
type Config struct {
	// Home is the inbox directory (it must hold an inbox made by candor-inbox init).
	Home string
	// IdleLock is how long the keys stay unlocked without a request; 0 means DefaultIdleLock.
	IdleLock time.Duration
	// Now returns the current time (default time.Now); tests move it to pass the idle lock.
	Now func() time.Time
	// Log receives one line per refused request or failed action, never a secret, a path with the
	// secret, or case content (default: discarded).
	Log *log.Logger
}

// Desk is the reviewer's desk. Make it with New, serve it with Serve, and Close it. Its handler is
// safe for concurrent use; the inbox calls run one at a time.
type Desk struct {
	cfg    Config
	f      *frontend.Frontend
	pages  map[string]map[string]*template.Template // tag → page → template
	secret string
	addr   string // host:port the listener has; "" until Serve
	mux    *http.ServeMux

	mu      sync.Mutex // guards in, last, pending; held during each inbox call
	in      *inbox.Inbox
	last    time.Time // of the last request while unlocked
	pending []byte    // the passphrase, only while Unlock runs
}

// ErrNotLoopback: Listen was given an address that is not a loopback IP address.
var ErrNotLoopback = errors.New("desk: the desk listens on a loopback address only (127.0.0.1 or ::1)")

// New opens the inbox in cfg.Home, parses the pages and makes the launch secret. The desk starts
// locked; Unlock it with the passphrase, or let the reviewer do so in the browser.
func New(cfg Config) (*Desk, error) {
	if cfg.IdleLock <= 0 {
		cfg.IdleLock = DefaultIdleLock
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	f, err := frontend.New()
	if err != nil {
		return nil, err
	}
	pages, err := parsePages(f)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	d := &Desk{cfg: cfg, f: f, pages: pages, secret: base64.RawURLEncoding.EncodeToString(raw)}
	d.in, err = inbox.Open(inbox.Config{Home: cfg.Home, Now: cfg.Now, Passphrase: d.passphrase})
	if err != nil {
		return nil, err
	}
	d.mux = d.routes()
	return d, nil
}

// passphrase is the inbox's passphrase source: the passphrase while Unlock runs, else an error,
// so that no call can decrypt a key while the desk is locked.
func (d *Desk) passphrase() ([]byte, error) {
	if d.pending == nil {
		return nil, errLocked
	}
	return d.pending, nil
}

var errLocked = errors.New("desk: locked")

// Unlock decrypts the keys with pass and keeps them until the idle lock or Lock. pass is
// overwritten before Unlock returns. A wrong passphrase gives inbox.ErrPassphrase.
func (d *Desk) Unlock(pass []byte) error {
	defer clear(pass)
	if len(pass) == 0 {
		return inbox.ErrPassphrase
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending = pass
	err := d.in.Unlock()
	d.pending = nil
	if err == nil {
		d.last = d.cfg.Now()
	}
	return err
}

// Lock overwrites and forgets the keys.
func (d *Desk) Lock() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.in.Lock()
}

// Locked reports whether the keys are locked, locking them first if the desk has been idle for
// IdleLock.
func (d *Desk) Locked() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lockIfIdle()
}

// lockIfIdle locks an idle desk and reports whether it is locked; d.mu must be held.
func (d *Desk) lockIfIdle() bool {
	if d.in.Unlocked() && d.cfg.Now().Sub(d.last) >= d.cfg.IdleLock {
		d.in.Lock()
		d.cfg.Log.Printf("candor-desk: idle for %v: locked, keys wiped", d.cfg.IdleLock)
	}
	return !d.in.Unlocked()
}

// Listen listens on addr, which must be a loopback IP address with a port (127.0.0.1:0 picks a
// free port). A host name, even localhost, is refused: it would take a resolver to check.
func Listen(addr string) (net.Listener, error) {
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

// CheckLoopback returns ErrNotLoopback unless addr is IP:PORT with a loopback IP.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.Join(ErrNotLoopback, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return ErrNotLoopback
	}
	return nil
}

// Serve serves the desk on ln (from Listen) until ctx is done, then returns nil. The Host header
// every request must carry is ln's address.
func (d *Desk) Serve(ctx context.Context, ln net.Listener) error {
	if err := CheckLoopback(ln.Addr().String()); err != nil {
		return err
	}
	d.mu.Lock()
	d.addr = ln.Addr().String()
	d.mu.Unlock()
	srv := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: d.cfg.Log}
	stop := make(chan struct{})
	defer close(stop)
	go d.idleTicker(stop)
	go func() {
		select {
		case <-ctx.Done():
			srv.Close()
		case <-stop:
		}
	}()
	err := srv.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// idleTicker locks an idle desk even when no request comes.
func (d *Desk) idleTicker(stop chan struct{}) {
	t := time.NewTicker(max(min(d.cfg.IdleLock/4, 30*time.Second), 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.Locked()
		}
	}
}

// URL returns the address to open when the desk serves ln: the listener's, with the launch
// secret.
func (d *Desk) URL(ln net.Listener) string {
	return "http://" + ln.Addr().String() + d.base() + "/"
}

func (d *Desk) base() string { return "/s/" + d.secret }

// Close locks the keys and closes the inbox. Stop serving first (close the listener).
func (d *Desk) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.in.Lock()
	return d.in.Close()
}
