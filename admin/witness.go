package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/net/proxy"

	"candor/installation"
	"candor/internal/checkpoint"
	"candor/internal/day"
	"candor/server/store"
	"candor/witnessclient"
)

// WitnessInfo is one configured witness as `candor witness list` shows it.
type WitnessInfo struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Key  string `json:"key"`
	// Cosigned is the largest tree of the current log it cosigned (0: none yet).
	Cosigned int64 `json:"cosigned"`
}

// AddWitness configures a witness (DESIGN §7.3): the server asks it to cosign every checkpoint.
// The change is logged. The witness must know the log (its operator runs `witnessctl add-log`
// with the origin and `add-key` with the key that `candor status` prints as log_origin and
// log_key).
func (a *Admin) AddWitness(url, key string) (WitnessInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := installation.Witness{URL: strings.TrimSuffix(strings.TrimSpace(url), "/"), Key: strings.TrimSpace(key)}
	if err := installation.AddWitness(a.st, w, a.today()); err != nil {
		return WitnessInfo{}, err
	}
	return WitnessInfo{Name: w.Name(), URL: w.URL, Key: w.Key}, nil
}

// RemoveWitness removes the witness whose key or name is key. The change is logged.
func (a *Admin) RemoveWitness(key string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return installation.RemoveWitness(a.st, strings.TrimSpace(key), a.today())
}

// Witnesses lists the configured witnesses and how far each cosigned the current log.
func (a *Admin) Witnesses() ([]WitnessInfo, error) {
	ws, err := installation.LoadWitnesses(a.st)
	if err != nil {
		return nil, err
	}
	origin, err := a.st.LogOrigin()
	if err != nil {
		return nil, err
	}
	state, err := installation.LoadWitnessState(a.st, origin)
	if err != nil {
		return nil, err
	}
	out := make([]WitnessInfo, 0, len(ws))
	for _, w := range ws {
		out = append(out, WitnessInfo{Name: w.Name(), URL: w.URL, Key: w.Key, Cosigned: state.Sizes[w.Key]})
	}
	return out, nil
}

// WitnessClient asks the configured witnesses to cosign the case log's checkpoints and records
// what they answer in the witnesses' state (installation.WitnessState): the latest note with the
// cosignatures gathered, and alarms when a witness refuses the log as rolled back or forked.
// Run drives it in the background: after every append (Appended) and every Interval, so a report
// is never held up by a witness; Cosign runs a round at once (before a bundle is made). Its
// methods are safe for concurrent use.
type WitnessClient struct {
	st       *store.Store
	log      *slog.Logger
	now      func() time.Time
	direct   *witnessclient.Client
	onion    *witnessclient.Client // nil: no tor SOCKS port
	interval time.Duration
	kick     chan struct{}
	mu       sync.Mutex // one round at a time
}

// WitnessConfig configures NewWitnessClient.
type WitnessConfig struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// SOCKS is tor's SOCKS5 address for onion witnesses: "unix:PATH" or "host:port"; empty: onion
	// witnesses cannot be reached (they stay unwitnessed, with a warning in the log).
	SOCKS string
	// Timeout bounds one request to a witness (default witnessclient.DefaultTimeout).
	Timeout time.Duration
	// Interval is how often Run asks again without an append (default 5 minutes).
	Interval time.Duration
}

// NewWitnessClient returns a witness client for cfg.
func NewWitnessClient(cfg WitnessConfig) (*WitnessClient, error) {
	w := &WitnessClient{st: cfg.Store, log: cfg.Log, now: cfg.Now, interval: cfg.Interval, kick: make(chan struct{}, 1)}
	if w.now == nil {
		w.now = time.Now
	}
	if w.interval == 0 {
		w.interval = 5 * time.Minute
	}
	w.direct = witnessclient.New(witnessclient.Config{Timeout: cfg.Timeout})
	if cfg.SOCKS != "" {
		network, addr := "tcp", cfg.SOCKS
		if p, ok := strings.CutPrefix(cfg.SOCKS, "unix:"); ok {
			network, addr = "unix", p
		}
		d, err := proxy.SOCKS5(network, addr, nil, proxy.Direct)
		if err != nil {
			return nil, fmt.Errorf("witness client: SOCKS: %w", err)
		}
		cd, ok := d.(proxy.ContextDialer)
		if !ok {
			return nil, errors.New("witness client: SOCKS dialer without contexts")
		}
		tr := &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) { return cd.DialContext(ctx, n, a) }}
		w.onion = witnessclient.New(witnessclient.Config{HTTP: &http.Client{Transport: tr}, Timeout: cfg.Timeout})
	}
	return w, nil
}

// Appended tells the client that the log grew; it returns at once.
func (w *WitnessClient) Appended() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run asks the witnesses after every Appended and every Interval until ctx ends.
func (w *WitnessClient) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		w.Cosign(ctx)
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-t.C:
		}
	}
}

// Cosign asks every configured witness to cosign the current tree, and records the answers. Errors are logged (without content), never returned: a witness being down
// only leaves the checkpoint unwitnessed for now.
func (w *WitnessClient) Cosign(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.round(ctx); err != nil && ctx.Err() == nil {
		w.log.Error("asking the witnesses", "err", err)
	}
}

func (w *WitnessClient) round(ctx context.Context) error {
	ws, err := installation.LoadWitnesses(w.st)
	if err != nil || len(ws) == 0 {
		return err
	}
	k, err := installation.LoadKeys(w.st)
	if err != nil {
		return err
	}
	size, hash, err := w.st.LogHead()
	if err != nil {
		return err
	}
	note, err := k.Log.Sign(&checkpoint.Checkpoint{Origin: k.Origin, Size: size, Hash: hash})
	if err != nil {
		return err
	}
	state, err := installation.LoadWitnessState(w.st, k.Origin)
	if err != nil {
		return err
	}
	lines := state.LinesAt(size)
	prove := func(old int64) (tlog.TreeProof, error) { return w.st.ProveTree(size, old) }
	// Every witness is asked every round, even one that cosigned this size before: its fresh
	// answer is what tells a store put back from one still current.
	for _, wit := range ws {
		line, err := w.ask(ctx, wit, state, note, prove)
		if err != nil {
			if w.refused(state, wit, err) {
				delete(lines, wit.Key)
			}
			continue
		}
		lines[wit.Key] = line
		state.Sizes[wit.Key] = size
	}
	state.SetLines(size, note, lines)
	return installation.SaveWitnessState(w.st, state)
}

// ask sends note to one witness and returns its cosignature line.
func (w *WitnessClient) ask(ctx context.Context, wit installation.Witness, state *installation.WitnessState,
	note []byte, prove witnessclient.Prover) (string, error) {
	v, err := checkpoint.NewCosignatureVerifier(wit.Key)
	if err != nil {
		return "", fmt.Errorf("%w: %v", witnessclient.ErrRefused, err)
	}
	c := w.direct
	if wit.Onion() {
		if c = w.onion; c == nil {
			return "", fmt.Errorf("%w: %s is an onion service and this server has no tor SOCKS port", witnessclient.ErrUnavailable, wit.URL)
		}
	}
	res, err := c.AddCheckpoint(ctx, witnessclient.Witness{URL: wit.URL, Key: v}, state.Sizes[wit.Key], note, prove)
	if err != nil {
		return "", err
	}
	return string(res.Lines), nil
}

// refused records a witness's refusal: an alarm for a rollback or fork (once per witness and
// kind; it reports true), a warning otherwise.
func (w *WitnessClient) refused(state *installation.WitnessState, wit installation.Witness, err error) bool {
	kind := ""
	switch {
	case errors.Is(err, witnessclient.ErrRollback):
		kind = installation.AlarmRollback
	case errors.Is(err, witnessclient.ErrFork):
		kind = installation.AlarmFork
	default:
		w.log.Warn("witness did not cosign", "witness", wit.Name(), "err", err)
		return false
	}
	a := installation.Alarm{Kind: kind, Witness: wit.Name(), Text: err.Error(), Day: day.FromTime(w.now())}
	if !slices.ContainsFunc(state.Alarms, func(o installation.Alarm) bool { return o.Kind == a.Kind && o.Witness == a.Witness }) {
		state.Alarms = append(state.Alarms, a)
	}
	w.log.Error("CASE LOG ALARM: a witness refused the case log", "alarm", a.String())
	return true
}
