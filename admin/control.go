package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"candor/installation"
	"candor/server/store"
)

// ControlSocket is the control socket's path inside the data directory.
const ControlSocket = "control.sock"

// Control API: while candor serve holds the store (bbolt allows one process), admin commands reach
// its Admin through a unix socket in the data directory, mode 0600, speaking small JSON requests.
// Only the user the server runs as can connect; the socket is never exposed on the network and
// carries admin actions only — no content, like the Admin itself.
//
//	GET  /v1/reviewers          → [ReviewerInfo]
//	POST /v1/reviewers          card text → ReviewerInfo
//	POST /v1/reviewers/remove   {"fingerprint"} → ReviewerInfo
//	POST /v1/reviewers/token    {"fingerprint"} → Token
//	GET  /v1/settings           → Settings
//	POST /v1/settings           settings file → Settings
//	GET  /v1/status             → Status
//	POST /v1/backup             {"recipients"} → the encrypted backup (application/octet-stream)
//
// Errors are {"error": "...", "code": "..."} with a 4xx or 5xx status; code names the sentinel
// (unknown-reviewer, reviewer-exists, invalid-card, settings, no-backup-recipient) so the client
// returns an error that errors.Is recognises.
const controlMaxBody = 1 << 20

// ServeControl serves a's control API on DATA/control.sock until ctx ends, then removes the
// socket. A stale socket left by a killed server is replaced. serve.go runs it beside the server:
//
//	go server.ServeControl(ctx, admin, dataDir)
func ServeControl(ctx context.Context, a *Admin, dataDir string) error {
	path := filepath.Join(dataDir, ControlSocket)
	os.Remove(path) // the store's flock guarantees no other server uses this data directory
	ln, err := listenPrivate(path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	srv := &http.Server{Handler: a.controlHandler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		os.Remove(path)
		return nil
	case err := <-done:
		os.Remove(path)
		return fmt.Errorf("control socket: %w", err)
	}
}

func (a *Admin) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/reviewers", func(w http.ResponseWriter, r *http.Request) {
		send(w, func() (any, error) { return a.Reviewers() })
	})
	mux.HandleFunc("POST /v1/reviewers", func(w http.ResponseWriter, r *http.Request) {
		if b, ok := body(w, r); ok {
			send(w, func() (any, error) { return a.AddReviewer(b) })
		}
	})
	mux.HandleFunc("POST /v1/reviewers/remove", func(w http.ResponseWriter, r *http.Request) {
		if fp, ok := fingerprintArg(w, r); ok {
			send(w, func() (any, error) { return a.RemoveReviewer(fp, r.URL.Query().Get("force") == "1") })
		}
	})
	mux.HandleFunc("POST /v1/reviewers/token", func(w http.ResponseWriter, r *http.Request) {
		if fp, ok := fingerprintArg(w, r); ok {
			send(w, func() (any, error) { return a.IssueToken(fp) })
		}
	})
	mux.HandleFunc("GET /v1/settings", func(w http.ResponseWriter, r *http.Request) { send(w, func() (any, error) { return a.Settings() }) })
	mux.HandleFunc("POST /v1/settings", func(w http.ResponseWriter, r *http.Request) {
		if b, ok := body(w, r); ok {
			send(w, func() (any, error) { return a.LoadSettings(b) })
		}
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { send(w, func() (any, error) { return a.Status() }) })
	mux.HandleFunc("POST /v1/backup", a.controlBackup)
	a.witnessRoutes(mux)
	return mux
}

func (a *Admin) controlBackup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Recipients []string `json:"recipients"`
	}
	if b, ok := body(w, r); !ok {
		return
	} else if err := json.Unmarshal(b, &req); err != nil {
		writeError(w, fmt.Errorf("bad request: %w", err))
		return
	}
	// The backup streams; an error after the first byte can only cut the stream, which the
	// client detects as a truncated age file (and the trailer below).
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Trailer", "Candor-Backup-Error")
	cw := &countingWriter{w: w}
	_, err := a.Backup(cw, req.Recipients)
	if err != nil && cw.n == 0 {
		w.Header().Del("Trailer")
		writeError(w, err)
		return
	}
	if err != nil {
		w.Header().Set("Candor-Backup-Error", "backup failed")
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, controlMaxBody))
	if err != nil {
		writeError(w, fmt.Errorf("bad request: %w", err))
		return nil, false
	}
	return b, true
}

func fingerprintArg(w http.ResponseWriter, r *http.Request) (string, bool) {
	var req struct {
		Fingerprint string `json:"fingerprint"`
	}
	b, ok := body(w, r)
	if !ok {
		return "", false
	}
	if err := json.Unmarshal(b, &req); err != nil {
		writeError(w, fmt.Errorf("bad request: %w", err))
		return "", false
	}
	return req.Fingerprint, true
}

// send writes fn's result as JSON, or its error.
func send(w http.ResponseWriter, fn func() (any, error)) {
	v, err := fn()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// controlErrors maps the sentinels that cross the control socket to their codes.
var controlErrors = []struct {
	code   string
	err    error
	status int
}{
	{"unknown-reviewer", ErrUnknownReviewer, http.StatusNotFound},
	{"reviewer-exists", ErrReviewerExists, http.StatusConflict},
	{"would-orphan", ErrWouldOrphan, http.StatusConflict},
	{"settings", installation.ErrSettings, http.StatusBadRequest},
	{"no-backup-recipient", ErrNoBackupRecipient, http.StatusBadRequest},
	{"not-found", store.ErrNotFound, http.StatusNotFound},
	{"witness", installation.ErrWitness, http.StatusBadRequest},
}

func writeError(w http.ResponseWriter, err error) {
	code, status := "", http.StatusBadRequest
	for _, c := range controlErrors {
		if errors.Is(err, c.err) {
			code, status = c.code, c.status
			break
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error(), "code": code})
}

// ControlClient performs admin actions through the control socket of a running server. Its
// methods mirror Admin's and return errors that errors.Is matches against the same sentinels.
type ControlClient struct {
	hc *http.Client
}

// NewControlClient returns a client for the control socket of dataDir. It does not connect yet;
// use Dial to check that a server listens.
func NewControlClient(dataDir string) *ControlClient {
	path := filepath.Join(dataDir, ControlSocket)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &ControlClient{hc: &http.Client{Transport: tr}}
}

// Reviewers lists the registered reviewers.
func (c *ControlClient) Reviewers() ([]ReviewerInfo, error) {
	var out []ReviewerInfo
	return out, c.call("GET", "/v1/reviewers", nil, &out)
}

// AddReviewer registers a reviewer card.
func (c *ControlClient) AddReviewer(card []byte) (ReviewerInfo, error) {
	var out ReviewerInfo
	return out, c.call("POST", "/v1/reviewers", card, &out)
}

// RemoveReviewer unregisters a reviewer (see Admin.RemoveReviewer).
func (c *ControlClient) RemoveReviewer(fp string, force bool) (ReviewerInfo, error) {
	var out ReviewerInfo
	path := "/v1/reviewers/remove"
	if force {
		path += "?force=1"
	}
	return out, c.call("POST", path, jsonBody("fingerprint", fp), &out)
}

// IssueToken issues a new sync token and client-authorisation key.
func (c *ControlClient) IssueToken(fp string) (Token, error) {
	var out Token
	return out, c.call("POST", "/v1/reviewers/token", jsonBody("fingerprint", fp), &out)
}

// Settings returns the settings.
func (c *ControlClient) Settings() (installation.Settings, error) {
	var out installation.Settings
	return out, c.call("GET", "/v1/settings", nil, &out)
}

// LoadSettings validates and stores a settings file through the running server, which applies it
// to the reporter pages at once (no restart).
func (c *ControlClient) LoadSettings(file []byte) (installation.Settings, error) {
	var out installation.Settings
	return out, c.call("POST", "/v1/settings", file, &out)
}

// Status returns the server's status.
func (c *ControlClient) Status() (Status, error) {
	var out Status
	return out, c.call("GET", "/v1/status", nil, &out)
}

// Backup streams an encrypted backup from the server to w.
func (c *ControlClient) Backup(w io.Writer, recipients []string) (BackupInfo, error) {
	b, _ := json.Marshal(map[string][]string{"recipients": recipients})
	resp, err := c.hc.Post("http://candor/v1/backup", "application/json", bytes.NewReader(b))
	if err != nil {
		return BackupInfo{}, fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return BackupInfo{}, decodeError(resp)
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.Trailer.Get("Candor-Backup-Error") != "" {
		err = errors.New("the server failed while writing the backup")
	}
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	return BackupInfo{Bytes: n}, nil
}

func jsonBody(k, v string) []byte {
	b, _ := json.Marshal(map[string]string{k: v})
	return b
}

func (c *ControlClient) call(method, path string, in []byte, out any) error {
	req, err := http.NewRequest(method, "http://candor"+path, bytes.NewReader(in))
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("control socket: bad answer: %w", err)
	}
	return nil
}

// remoteError is an error reported by the server, wrapping the sentinel its code names.
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

func decodeError(resp *http.Response) error {
	var e struct{ Error, Code string }
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e); err != nil || e.Error == "" {
		return fmt.Errorf("control socket: %s", resp.Status)
	}
	for _, c := range controlErrors {
		if c.code == e.Code {
			return &remoteError{msg: e.Error, err: c.err}
		}
	}
	return errors.New(e.Error)
}
