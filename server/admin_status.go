package server

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"candor/server/store"
)

// Status is what `candor status` shows: counts, dates and addresses, never content. The JSON field
// names public_onion, restricted_onion, cases and overdue are part of DESIGN §11.
type Status struct {
	PublicOnion     string         `json:"public_onion"`
	RestrictedOnion string         `json:"restricted_onion"`
	Cases           int            `json:"cases"`
	ByStatus        map[string]int `json:"by_status"`
	Overdue         int            `json:"overdue"`
	Reviewers       int            `json:"reviewers"`
	LogSize         int64          `json:"log_size"`
	StoreBytes      int64          `json:"store_bytes"`
	PendingUploads  int            `json:"pending_uploads"`
	// Tor is tor's state from the heartbeat of a running candor serve: starting, running,
	// restarting, closed, disabled (--dev-listen), or "not running" (no fresh heartbeat).
	Tor       string    `json:"tor"`
	Heartbeat time.Time `json:"heartbeat,omitzero"`
}

// Status counts the store's contents and reads the server's heartbeat.
func (a *Admin) Status() (Status, error) {
	pub, restricted, err := OnionKeys(a.st)
	if err != nil {
		return Status{}, err
	}
	stats, err := a.st.Stats()
	if err != nil {
		return Status{}, err
	}
	s := Status{
		PublicOnion:     OnionAddress(pub.Public().(ed25519.PublicKey)),
		RestrictedOnion: OnionAddress(restricted.Public().(ed25519.PublicKey)),
		Cases:           stats.Cases, ByStatus: stats.ByStatus, Reviewers: stats.Reviewers,
		LogSize: stats.LogSize, StoreBytes: stats.FileSize, PendingUploads: stats.Pending,
	}
	if s.ByStatus == nil {
		s.ByStatus = map[string]int{}
	}
	if s.Overdue, err = a.overdue(); err != nil {
		return Status{}, err
	}
	s.Tor = "not running"
	if a.dataDir != "" {
		if h, err := ReadHeartbeat(a.dataDir); err == nil {
			s.Heartbeat = h.Time
			if a.now().Sub(h.Time) < HeartbeatMaxAge {
				s.Tor = h.Tor
			}
		}
	}
	return s, nil
}

// overdue counts the cases past a Directive deadline (acknowledgement or feedback).
func (a *Admin) overdue() (int, error) {
	today := a.today()
	n := 0
	err := a.st.Cases(func(c *store.Case) error {
		ack, feedback := deadlines(c.Received, c.Acknowledged)
		if (c.Acknowledged == 0 && today > ack) || (c.Closed == 0 && today > feedback) {
			n++
		}
		return nil
	})
	return n, err
}

// Heartbeat files: DATA/run/health.json, rewritten by a running server.
const (
	HeartbeatFile     = "run/health.json"
	HeartbeatInterval = 15 * time.Second
	HeartbeatMaxAge   = 60 * time.Second
)

// Tor states a heartbeat may report besides onion.State's names.
const (
	TorDisabled = "disabled" // --dev-listen: no tor by design
)

// Health is the content of the heartbeat file.
type Health struct {
	Time time.Time `json:"time"`
	Tor  string    `json:"tor"`
}

// ErrUnhealthy is wrapped by CheckHealth's errors.
var ErrUnhealthy = errors.New("unhealthy")

// Heartbeat rewrites DATA/run/health.json every HeartbeatInterval until ctx ends, with the time
// and tor's state as torState reports it (nil: TorDisabled). It writes once before returning the
// first time, so a health check right after start sees it; the file is replaced atomically.
func Heartbeat(ctx context.Context, dataDir string, torState func() string, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	beat := func() error {
		st := TorDisabled
		if torState != nil {
			st = torState()
		}
		return writeHeartbeat(dataDir, Health{Time: now().UTC().Truncate(time.Second), Tor: st})
	}
	if err := beat(); err != nil {
		return err
	}
	t := time.NewTicker(HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			beat() // a failed write shows up as a stale heartbeat
		}
	}
}

func writeHeartbeat(dataDir string, h Health) error {
	path := filepath.Join(dataDir, HeartbeatFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	b, _ := json.Marshal(h)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return os.Rename(tmp, path)
}

// ReadHeartbeat reads the heartbeat file of dataDir.
func ReadHeartbeat(dataDir string) (Health, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, HeartbeatFile))
	if err != nil {
		return Health{}, err
	}
	var h Health
	if err := json.Unmarshal(b, &h); err != nil {
		return Health{}, fmt.Errorf("heartbeat: %w", err)
	}
	return h, nil
}

// CheckHealth reports whether a server runs for dataDir: its heartbeat is younger than
// HeartbeatMaxAge and tor is running (or disabled by --dev-listen). Errors wrap ErrUnhealthy and
// say why.
func CheckHealth(dataDir string, now time.Time) (Health, error) {
	h, err := ReadHeartbeat(dataDir)
	if err != nil {
		return h, fmt.Errorf("%w: no heartbeat (is candor serve running?): %v", ErrUnhealthy, err)
	}
	if age := now.Sub(h.Time); age >= HeartbeatMaxAge {
		return h, fmt.Errorf("%w: last heartbeat %s ago (candor serve stopped or hangs)", ErrUnhealthy,
			age.Truncate(time.Second))
	}
	if h.Tor != "running" && h.Tor != TorDisabled {
		return h, fmt.Errorf("%w: tor is %s", ErrUnhealthy, h.Tor)
	}
	return h, nil
}
