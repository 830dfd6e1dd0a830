package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/proxy"

	"candor/admin"
	"candor/installation"
	"candor/internal/torcircuit"
	"candor/onion"
	"candor/server"
	"candor/server/store"
)

const serveSynopsis = "candor serve --data DIR [--dev-listen ADDR] [--tor PATH] [--tor-extra-config FILE] [--notify-url URL]"

// serveConfig is what the flags of candor serve say.
type serveConfig struct {
	data, dev, torPath, torExtra, notifyURL string
	stdout, stderr                          io.Writer
}

// runServe is candor serve: flags → serveConfig.run until SIGINT or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, stdout, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return c.run(ctx)
}

func parseServe(args []string, stdout, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{stdout: stdout, stderr: stderr}
	fs := newFlagSet("serve", serveSynopsis, stderr)
	fs.StringVar(&c.data, "data", os.Getenv("CANDOR_DATA"), "data `directory` made by candor init (default $CANDOR_DATA)")
	fs.StringVar(&c.dev, "dev-listen", "", "serve both surfaces without tor on this loopback `address` (development only)")
	fs.StringVar(&c.torPath, "tor", "", "tor `binary` (default: tor from PATH)")
	fs.StringVar(&c.torExtra, "tor-extra-config", "", "`file` of torrc lines appended to the generated torrc")
	fs.StringVar(&c.notifyURL, "notify-url", "", "`URL` to POST a content-free {\"attention\":N} to when cases need attention")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if err := needData(fs, c.data, 0); err != nil {
		return nil, err
	}
	return c, nil
}

// serving is one run of candor serve: the store, the HTTP server, and the background jobs
// (retention, notifications, control socket, heartbeat), which stop and are waited for before the
// store closes.
type serving struct {
	*serveConfig
	log       *slog.Logger
	st        *store.Store
	srv       *server.Server
	jobs      sync.WaitGroup
	adminJobs *admin.Jobs
}

// run serves until ctx ends, over tor or (--dev-listen) on a loopback address.
func (c *serveConfig) run(ctx context.Context) error {
	s := &serving{serveConfig: c, log: slog.New(slog.NewTextHandler(c.stderr, nil))}
	var err error
	if s.st, err = installation.OpenStore(c.data, nil); err != nil {
		return err
	}
	defer s.st.Close()
	ctx, cancelJobs := context.WithCancel(ctx)
	defer func() { cancelJobs(); s.jobs.Wait() }() // before the store closes
	if sw := s.st.Swept(); sw.Blobs > 0 {
		s.log.Info("swept unfinished uploads", "blobs", sw.Blobs, "chunks", sw.Chunks)
	}
	if s.srv, err = server.New(server.Config{Store: s.st, Log: s.log, Dev: c.dev != "", ReceiptsAhead: 1}); err != nil {
		return err
	}
	setMemoryLimits(s.srv)
	if err := s.srv.PrepareReceipts(ctx); err != nil {
		return err
	}
	if err := s.startJobs(ctx); err != nil {
		return err
	}
	if c.dev != "" {
		return s.serveDev(ctx)
	}
	return s.serveOnion(ctx)
}

// setMemoryLimits sets the Go runtime's memory limit to the server's budget and a lower GC target,
// unless GOMEMLIMIT or GOGC say otherwise.
func setMemoryLimits(srv *server.Server) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(srv.MemoryBudget())
	}
	if os.Getenv("GOGC") == "" {
		// The heap is mostly large pointer-free buffers (Argon2id, upload batches): collecting at
		// 1.5× the live heap rather than 2× costs little and bounds a login flood lower.
		debug.SetGCPercent(50)
	}
}

// background runs f in a job that run waits for.
func (s *serving) background(f func()) {
	s.jobs.Add(1)
	go func() { defer s.jobs.Done(); f() }()
}

// startJobs checks the log and starts retention and (--notify-url) notifications. A log that
// does not match its signed checkpoint is logged loudly; serving goes on so that reporters are not
// turned away, and reviewers' inboxes refuse the rewritten history.
func (s *serving) startJobs(ctx context.Context) error {
	s.adminJobs = &admin.Jobs{Store: s.st, Log: s.log, Submissions: s.srv.SubmissionCounts}
	_ = s.adminJobs.VerifyLog()
	s.background(func() { s.adminJobs.RunRetention(ctx) })
	if s.notifyURL == "" {
		return nil
	}
	_, err := admin.NewNotifier(s.notifyURL, nil, nil) // refuse a bad URL before tor starts
	return err
}

// startNotify starts the notifier (--notify-url) once its transport is known: through tor's SOCKS
// socket when serving with tor (a clearnet POST would tell the webhook's operator, and the
// networks on the way, the server's address and when reports arrive), directly with --dev-listen
// (client nil).
func (s *serving) startNotify(ctx context.Context, client *http.Client) error {
	if s.notifyURL == "" {
		return nil
	}
	n, err := admin.NewNotifier(s.notifyURL, client, s.log)
	if err != nil {
		return err
	}
	s.background(func() { s.adminJobs.RunNotify(ctx, n) })
	return nil
}

// socksClient returns an HTTP client that connects through tor's SOCKS socket at path (tor resolves
// the host name), with the notifier's timeout and no redirects.
func socksClient(path string) *http.Client {
	d, _ := proxy.SOCKS5("unix", path, nil, &net.Dialer{}) // fails only for an unknown network
	return &http.Client{Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}}
}

// serveDev serves both surfaces without tor on the --dev-listen loopback address.
func (s *serving) serveDev(ctx context.Context) error {
	if err := s.startNotify(ctx, nil); err != nil {
		return err
	}
	ln, err := devListen(s.dev)
	if err != nil {
		return err
	}
	if err := s.startAdmin(ctx, nil); err != nil {
		ln.Close()
		return err
	}
	if err := s.startWitnesses(ctx, ""); err != nil {
		ln.Close()
		return err
	}
	s.background(func() { admin.Heartbeat(ctx, s.data, nil, s.alarms, nil) })
	fmt.Fprintln(s.stderr, "WARNING: --dev-listen serves WITHOUT TOR: no anonymity, no onion service, "+
		"the sync API unauthenticated by onion client authorisation. Development and tests only.")
	fmt.Fprintf(s.stdout, "listening on http://%s\n", ln.Addr())
	return s.srv.Serve(ctx, ln, nil)
}

// serveOnion serves the public and restricted onion services through tor.
func (s *serving) serveOnion(ctx context.Context) error {
	svc, err := s.startOnion(ctx)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := s.startNotify(ctx, socksClient(svc.SOCKSPath())); err != nil {
		return err
	}
	onChange := func(keys []string) {
		if err := svc.SetClientAuth(keys); err != nil {
			s.log.Error("updating the restricted onion's client authorisation failed", "err", err)
		}
	}
	if err := s.startAdmin(ctx, onChange); err != nil {
		return err
	}
	if err := s.startWitnesses(ctx, svc.SOCKSAddr()); err != nil {
		return err
	}
	s.background(func() {
		admin.Heartbeat(ctx, s.data, func() string { return svc.State().String() }, s.alarms, nil)
	})
	fmt.Fprintf(s.stdout, "public:     http://%s\nrestricted: http://%s\n", svc.PublicAddr(), svc.RestrictedAddr())
	return s.srv.Serve(ctx, torcircuit.NewListener(svc.Public(), 0), svc.Restricted())
}

// startOnion starts tor with the installation's onion keys and client authorisations.
func (s *serving) startOnion(ctx context.Context) (*onion.Service, error) {
	extra, err := readTorrcLines(s.torExtra)
	if err != nil {
		return nil, err
	}
	pub, restricted, err := installation.OnionKeys(s.st)
	if err != nil {
		return nil, err
	}
	auth, err := installation.ClientAuthKeys(s.st)
	if err != nil {
		return nil, err
	}
	// The public service exports each stream's circuit (a PROXY header read by torcircuit) so that
	// the server keeps its budgets per circuit, and tor closes a circuit that opens more than
	// DefaultMaxStreams streams. A restarted tor numbers circuits afresh: the budgets are reset.
	return onion.Start(ctx, onion.Config{TorPath: s.torPath, DataDir: filepath.Join(s.data, installation.TorDir),
		ExtraTorrc: extra, PublicKey: pub, RestrictedKey: restricted, ClientAuth: auth, PoW: true, Log: s.log,
		TorOutput: s.stderr, ExportCircuitID: true, MaxStreams: onion.DefaultMaxStreams,
		SOCKS: true, OnRestart: s.srv.Circuits().Reset})
}

// startWitnesses runs the witness client: it asks the configured witnesses to cosign after every
// append the server makes and before every bundle (onion witnesses through tor's SOCKS socket).
func (s *serving) startWitnesses(ctx context.Context, socks string) error {
	wc, err := admin.NewWitnessClient(admin.WitnessConfig{Store: s.st, Log: s.log, SOCKS: socks})
	if err != nil {
		return err
	}
	s.srv.SetAppended(wc.Appended)
	s.srv.SetCosigner(wc.Cosign)
	s.background(func() { wc.Run(ctx) })
	return nil
}

// alarms returns the case log's alarms for the heartbeat.
func (s *serving) alarms() []string { return admin.Alarms(s.st) }

// startAdmin serves the admin control socket (DATA/control.sock), through which admin commands
// reach the store while this process holds its lock. onChange is called when the reviewers change.
func (s *serving) startAdmin(ctx context.Context, onChange func([]string)) error {
	reload := func() {
		if err := s.srv.ReloadSettings(); err != nil {
			s.log.Error("reloading settings failed", "err", err)
		}
	}
	a, err := admin.New(admin.Config{Store: s.st, DataDir: s.data, OnReviewersChanged: onChange,
		OnSettingsChanged: reload, SubmissionCounts: s.srv.SubmissionCounts})
	if err != nil {
		return err
	}
	s.background(func() {
		if err := admin.ServeControl(ctx, a, s.data); err != nil && ctx.Err() == nil {
			s.log.Error("control socket stopped", "err", err)
		}
	})
	return nil
}

// devListen listens on addr for --dev-listen, which must be a loopback address.
func devListen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--dev-listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, errors.New("--dev-listen must be a loopback address (127.0.0.1:PORT)")
	}
	return net.Listen("tcp", addr)
}

// readTorrcLines reads the --tor-extra-config file (empty name: none), dropping blank lines and
// comments.
func readTorrcLines(name string) ([]string, error) {
	if name == "" {
		return nil, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines, nil
}
