package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"candor/installation"
	"candor/internal/day"
	"candor/onion/onionkey"
	"candor/server/circuit"
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
	// SubmissionsToday counts today's reports (by the server's count while it runs, else by the
	// store's cases received today); UnusualRate says whether that is unusually many against the
	// two weeks before (server/circuit.Detector) — a spam wave for the reviewers to triage.
	SubmissionsToday int  `json:"submissions_today"`
	UnusualRate      bool `json:"unusual_rate"`
	// Tor is tor's state from the heartbeat of a running candor serve: starting, running,
	// restarting, closed, disabled (--dev-listen), or "not running" (no fresh heartbeat).
	Tor       string    `json:"tor"`
	Heartbeat time.Time `json:"heartbeat,omitzero"`
	// LogOrigin names the case log (its epoch); LogKey is the log's Ed25519 note verifier key,
	// what a witness's operator gives `witnessctl add-key`.
	LogOrigin string `json:"log_origin"`
	LogKey    string `json:"log_key"`
	// ServerKey is the server key's fingerprint, what each reviewer's inbox confirms on its first
	// import (candor reviewer token prints it too).
	ServerKey string `json:"server_key"`
	// WitnessedSize is the largest tree of this log a configured witness cosigned: LogSize minus
	// WitnessedSize entries await a cosignature.
	WitnessedSize int64 `json:"witnessed_size"`
	Witnesses     int   `json:"witnesses"`
	// Alarms are the witnesses' refusals of the log (rollback, fork); empty when all is well.
	Alarms []string `json:"alarms"`
}

// Status counts the store's contents and reads the server's heartbeat.
func (a *Admin) Status() (Status, error) {
	pub, restricted, err := installation.OnionKeys(a.st)
	if err != nil {
		return Status{}, err
	}
	stats, err := a.st.Stats()
	if err != nil {
		return Status{}, err
	}
	s := Status{
		PublicOnion:     onionkey.AddressOfKey(pub),
		RestrictedOnion: onionkey.AddressOfKey(restricted),
		Cases:           stats.Cases, ByStatus: stats.ByStatus, Reviewers: stats.Reviewers,
		LogSize: stats.LogSize, StoreBytes: stats.FileSize, PendingUploads: stats.Pending,
	}
	if s.ByStatus == nil {
		s.ByStatus = map[string]int{}
	}
	if s.Overdue, err = installation.Overdue(a.st, a.today()); err != nil {
		return Status{}, err
	}
	if err := a.logStatus(&s); err != nil {
		return Status{}, err
	}
	sig, err := submissionSignal(a.st, a.submissions, a.today())
	if err != nil {
		return Status{}, err
	}
	s.SubmissionsToday, s.UnusualRate = sig.Count, sig.Unusual
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

// logStatus fills the log's origin, key, witnessed size and alarms.
func (a *Admin) logStatus(s *Status) error {
	k, err := installation.LoadKeys(a.st)
	if err != nil {
		return err
	}
	s.LogOrigin, s.LogKey = k.Origin, k.Log.Ed25519VerifierKey()
	s.ServerKey = k.Signer.Public().Fingerprint()
	ws, err := installation.LoadWitnessState(a.st, k.Origin)
	if err != nil {
		return err
	}
	wl, err := installation.LoadWitnesses(a.st)
	if err != nil {
		return err
	}
	s.WitnessedSize, s.Witnesses, s.Alarms = ws.Witnessed, len(wl), AlarmTexts(ws.Alarms)
	return nil
}

// AlarmTexts returns the alarms as status and health print them (never nil).
func AlarmTexts(alarms []installation.Alarm) []string {
	out := []string{}
	for _, a := range alarms {
		out = append(out, a.String())
	}
	return out
}

// Alarms returns the current alarms of st's log (for the heartbeat).
func Alarms(st *store.Store) []string {
	origin, err := st.LogOrigin()
	if err != nil {
		return []string{"cannot read the log's origin: " + err.Error()}
	}
	ws, err := installation.LoadWitnessState(st, origin)
	if err != nil {
		return []string{"cannot read the witnesses' state: " + err.Error()}
	}
	return AlarmTexts(ws.Alarms)
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
	Time   time.Time `json:"time"`
	Tor    string    `json:"tor"`
	Alarms []string  `json:"alarms,omitempty"` // the case log's alarms (Status.Alarms)
}

// ErrUnhealthy is wrapped by CheckHealth's errors.
var ErrUnhealthy = errors.New("unhealthy")

// Heartbeat rewrites DATA/run/health.json every HeartbeatInterval until ctx ends, with the time,
// tor's state as torState reports it (nil: TorDisabled) and the case log's alarms as alarms
// reports them (nil: none), so that `candor health` fails while a witness refuses the log. It
// writes once before returning the first time, so a health check right after start sees it; the
// file is replaced atomically.
func Heartbeat(ctx context.Context, dataDir string, torState func() string, alarms func() []string, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	beat := func() error {
		h := Health{Time: now().UTC().Truncate(time.Second), Tor: TorDisabled}
		if torState != nil {
			h.Tor = torState()
		}
		if alarms != nil {
			h.Alarms = alarms()
		}
		return writeHeartbeat(dataDir, h)
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
// HeartbeatMaxAge, tor is running (or disabled by --dev-listen) and the case log has no alarm. Errors wrap ErrUnhealthy and
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
	if len(h.Alarms) > 0 {
		return h, fmt.Errorf("%w: case log ALARM: %s", ErrUnhealthy, strings.Join(h.Alarms, "; "))
	}
	return h, nil
}

// submissionSignal reads today's submission count against the days before it: from counts (a
// running server's), or from the days the store's cases were received.
func submissionSignal(st *store.Store, counts func() map[day.Day]int, today day.Day) (circuit.Signal, error) {
	var m map[day.Day]int
	if counts != nil {
		m = counts()
	} else {
		m = map[day.Day]int{}
		err := st.Cases(func(c *store.Case) error {
			m[c.Received]++
			return nil
		})
		if err != nil {
			return circuit.Signal{}, err
		}
	}
	return circuit.Detector{}.Assess(today, m), nil
}
