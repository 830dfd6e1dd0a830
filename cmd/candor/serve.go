package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"candor/onion"
	"candor/server"
	"candor/server/store"
)

func init() {
	extraCommands["serve"] = command{run: runServe}
}

const serveSynopsis = "candor serve --data DIR [--dev-listen ADDR] [--tor PATH] [--tor-extra-config FILE]"

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	data := fs.String("data", "", "data `directory` made by candor init")
	dev := fs.String("dev-listen", "", "serve both surfaces without tor on this loopback `address` (development only)")
	torPath := fs.String("tor", "", "tor `binary` (default: tor from PATH)")
	torExtra := fs.String("tor-extra-config", "", "`file` of torrc lines appended to the generated torrc")
	notifyURL := fs.String("notify-url", "", "`URL` to POST a content-free {\"attention\":N} to when cases need attention")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := server.OpenStore(*data, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	// Background jobs (retention, notifications, control socket, heartbeat) stop and are waited for
	// before the store closes (defers run last-in, first-out).
	ctx, cancelJobs := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	defer func() { cancelJobs(); jobs.Wait() }()
	background := func(f func()) {
		jobs.Add(1)
		go func() { defer jobs.Done(); f() }()
	}
	if sw := st.Swept(); sw.Blobs > 0 {
		log.Info("swept unfinished uploads", "blobs", sw.Blobs, "chunks", sw.Chunks)
	}
	srv, err := server.New(server.Config{Store: st, Log: log, Dev: *dev != ""})
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(srv.MemoryBudget())
	}
	if os.Getenv("GOGC") == "" {
		// The heap is mostly large pointer-free buffers (Argon2id, upload batches): collecting at
		// 1.5× the live heap rather than 2× costs little and bounds a login flood lower.
		debug.SetGCPercent(50)
	}
	// A log that does not match its signed checkpoint is logged loudly; serving goes on so that
	// reporters are not turned away, and reviewers' inboxes refuse the rewritten history.
	_ = srv.VerifyLog()
	background(func() { srv.RunRetention(ctx) })
	if *notifyURL != "" {
		n, err := server.NewNotifier(*notifyURL, nil, log)
		if err != nil {
			return err
		}
		background(func() { srv.RunNotify(ctx, n) })
	}
	if *dev != "" {
		ln, err := devListen(*dev)
		if err != nil {
			return err
		}
		if err := startAdmin(ctx, background, srv, st, *data, nil, log); err != nil {
			ln.Close()
			return err
		}
		background(func() { server.Heartbeat(ctx, *data, nil, nil) })
		fmt.Fprintln(stderr, "WARNING: --dev-listen serves WITHOUT TOR: no anonymity, no onion service, "+
			"the sync API unauthenticated by onion client authorisation. Development and tests only.")
		fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
		return srv.Serve(ctx, ln, nil)
	}
	extra, err := readTorrcLines(*torExtra)
	if err != nil {
		return err
	}
	pub, restricted, err := server.OnionKeys(st)
	if err != nil {
		return err
	}
	auth, err := server.ClientAuthKeys(st)
	if err != nil {
		return err
	}
	svc, err := onion.Start(ctx, onion.Config{TorPath: *torPath, DataDir: filepath.Join(*data, server.TorDir),
		ExtraTorrc: extra, PublicKey: pub, RestrictedKey: restricted, ClientAuth: auth, PoW: true, Log: log,
		TorOutput: stderr})
	if err != nil {
		return err
	}
	defer svc.Close()
	onChange := func(keys []string) {
		if err := svc.SetClientAuth(keys); err != nil {
			log.Error("updating the restricted onion's client authorisation failed", "err", err)
		}
	}
	if err := startAdmin(ctx, background, srv, st, *data, onChange, log); err != nil {
		return err
	}
	background(func() { server.Heartbeat(ctx, *data, func() string { return svc.State().String() }, nil) })
	fmt.Fprintf(stdout, "public:     http://%s\nrestricted: http://%s\n", svc.PublicAddr(), svc.RestrictedAddr())
	return srv.Serve(ctx, svc.Public(), svc.Restricted())
}

// startAdmin serves the admin control socket (DATA/control.sock), through which admin commands
// reach the store while this process holds its lock.
func startAdmin(ctx context.Context, background func(func()), srv *server.Server, st *store.Store, data string, onChange func([]string), log *slog.Logger) error {
	reload := func() {
		if err := srv.ReloadSettings(); err != nil {
			log.Error("reloading settings failed", "err", err)
		}
	}
	admin, err := server.NewAdmin(server.AdminConfig{Store: st, DataDir: data, OnReviewersChanged: onChange,
		OnSettingsChanged: reload})
	if err != nil {
		return err
	}
	background(func() {
		if err := server.ServeControl(ctx, admin, data); err != nil && ctx.Err() == nil {
			log.Error("control socket stopped", "err", err)
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
