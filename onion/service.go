package onion

import (
	"candor/onion/onionkey"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// maxSocketPath is a safe bound for unix socket paths (sun_path is 108 bytes on Linux, 104 elsewhere).
const maxSocketPath = 100

// Service is a running pair of onion services and the tor process behind them. Its methods are safe for
// concurrent use. Close stops it.
type Service struct {
	cfg            Config
	log            *slog.Logger
	publicAddr     string
	restrictedAddr string
	public         *net.UnixListener
	restricted     *net.UnixListener
	life           context.Context // cancelled by Close: ends the tor process and the watchdog
	cancel         context.CancelFunc
	watchdogDone   chan struct{}
	authMu         sync.Mutex // serialises SetClientAuth with the watchdog's relaunch

	mu         sync.Mutex
	inst       *instance
	state      State
	clientAuth []string
	restarts   int
}

// Start creates DataDir, listens on the two unix sockets, starts tor, publishes the services and waits for
// tor to bootstrap (at most Config.BootstrapTimeout; ErrBootstrapTimeout names the last bootstrap status).
// ctx bounds the start only; the service runs until Close. The onion addresses follow from the keys alone,
// so the same keys give the same addresses on every start.
func Start(ctx context.Context, cfg Config) (*Service, error) {
	s, err := newService(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	inst, err := s.launch(s.life)
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	s.inst = inst
	if err := s.awaitFirstBootstrap(ctx, inst); err != nil {
		inst.stop()
		s.closeListeners()
		return nil, err
	}
	s.setState(StateRunning)
	s.log.Info("onion: tor bootstrapped; services published")
	go s.watchdog(inst)
	return s, nil
}

// newService checks cfg, fills in defaults and derives the addresses.
func newService(cfg Config) (*Service, error) {
	if len(cfg.PublicKey) != ed25519.PrivateKeySize || len(cfg.RestrictedKey) != ed25519.PrivateKeySize {
		return nil, ErrNoKey
	}
	for _, k := range cfg.ClientAuth {
		if err := checkClientAuthKey(k); err != nil {
			return nil, err
		}
	}
	if cfg.TorPath == "" {
		cfg.TorPath = "tor"
	}
	if cfg.BootstrapTimeout == 0 {
		cfg.BootstrapTimeout = DefaultBootstrapTimeout
	}
	if cfg.DataDir == "" {
		return nil, errors.New("onion: Config.DataDir is required")
	}
	if cfg.TorOutput == nil {
		cfg.TorOutput = io.Discard
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg:            cfg,
		log:            log,
		publicAddr:     onionkey.AddressOfKey(cfg.PublicKey),
		restrictedAddr: onionkey.AddressOfKey(cfg.RestrictedKey),
		clientAuth:     append([]string(nil), cfg.ClientAuth...),
		watchdogDone:   make(chan struct{}),
	}
	return s, nil
}

// SOCKSAddr returns tor's SOCKS5 address ("unix:PATH") if Config.SOCKS asked for one, else "".
func (s *Service) SOCKSAddr() string {
	if !s.cfg.SOCKS {
		return ""
	}
	return "unix:" + s.socketPath("socks")
}

// socketDir is the 0700 directory of the two unix sockets.
func (s *Service) socketDir() string             { return filepath.Join(s.cfg.DataDir, "sockets") }
func (s *Service) socketPath(name string) string { return filepath.Join(s.socketDir(), name+".sock") }

// listen creates the data and socket directories and listens on both sockets, replacing stale socket
// files a crashed run left behind.
func (s *Service) listen() error {
	abs, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("onion: %w", err)
	}
	s.cfg.DataDir = abs
	if len(s.socketPath("restricted")) > maxSocketPath || strings.ContainsAny(s.socketDir(), " \t\"\\") {
		return fmt.Errorf("%w: %s (move DataDir to a shorter path without spaces)", ErrSocketPath, s.socketDir())
	}
	for _, d := range []string{s.cfg.DataDir, s.socketDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("onion: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("onion: %w", err)
		}
	}
	os.Remove(s.socketPath("socks")) // tor creates it anew; a crashed run may have left it
	if s.public, err = listenUnix(s.socketPath("public")); err != nil {
		return err
	}
	if s.restricted, err = listenUnix(s.socketPath("restricted")); err != nil {
		s.public.Close()
		return err
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	return nil
}

func listenUnix(path string) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("onion: %w", err)
	}
	return l, nil
}

func (s *Service) closeListeners() {
	s.cancel()
	s.public.Close()
	s.restricted.Close()
	s.removeHSDir()
}

// awaitFirstBootstrap waits for the first tor to bootstrap, bounded by ctx and Config.BootstrapTimeout.
func (s *Service) awaitFirstBootstrap(ctx context.Context, inst *instance) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BootstrapTimeout)
	defer cancel()
	err := inst.awaitBootstrap(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: not bootstrapped after %v (%v)", ErrBootstrapTimeout, s.cfg.BootstrapTimeout, err)
	}
	return err
}

// Public returns the listener of the public service. Connections arrive from tor; their remote address
// says nothing about the client. Close closes it.
func (s *Service) Public() net.Listener { return s.public }

// Restricted returns the listener of the restricted service (client authorization required).
func (s *Service) Restricted() net.Listener { return s.restricted }

// SOCKSPath returns the path of tor's SOCKS socket (Config.SOCKS): dial it with network "unix".
func (s *Service) SOCKSPath() string { return s.socketPath("socks") }

// PublicAddr returns the public service's address, "xxx.onion".
func (s *Service) PublicAddr() string { return s.publicAddr }

// RestrictedAddr returns the restricted service's address, "xxx.onion".
func (s *Service) RestrictedAddr() string { return s.restrictedAddr }

// State returns the current state of the tor process.
func (s *Service) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Service) setState(st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateClosed {
		s.state = st
	}
}

// Close withdraws the services, stops tor gracefully (killing it if it does not exit within seconds),
// stops the watchdog and closes both listeners. It is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.state == StateClosed {
		s.mu.Unlock()
		return nil
	}
	s.state = StateClosed
	inst := s.inst
	s.mu.Unlock()
	if inst != nil {
		inst.stop()
	}
	s.cancel()
	<-s.watchdogDone
	s.public.Close()
	s.restricted.Close()
	s.removeHSDir()
	s.log.Info("onion: tor stopped")
	return nil
}
