package onion

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/process"
	"github.com/cretz/bine/tor"
)

// instance is one run of the tor process, with its control connection.
type instance struct {
	tor  *tor.Tor
	proc *torProc

	mu sync.Mutex // serialises control requests
}

// torProc is a tor process as bine's process.Process. It owns the only cmd.Wait, so that the watchdog and
// Close can both wait for the exit.
type torProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *torProc) Start() error {
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return nil
}

func (p *torProc) Wait() error {
	<-p.done
	return p.err
}

func (p *torProc) EmbeddedControlConn() (net.Conn, error) {
	return nil, process.ErrControlConnUnsupported
}

// creator makes bine start tor as a torProc we keep.
type creator struct {
	path string
	out  io.Writer
	proc *torProc
}

func (c *creator) New(ctx context.Context, args ...string) (process.Process, error) {
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Stdout, cmd.Stderr = c.out, c.out
	setParentDeathSignal(cmd)
	c.proc = &torProc{cmd: cmd, done: make(chan struct{})}
	return c.proc, nil
}

// launch starts tor through bine, authenticates, and publishes the services. life bounds the process's
// life (Close cancels it); the start itself is bounded by bine's own control-port wait.
func (s *Service) launch(life context.Context) (*instance, error) {
	if err := s.writeTorrc(); err != nil {
		return nil, err
	}
	s.removeStaleControlPortFiles()
	cr := &creator{path: s.cfg.TorPath, out: s.cfg.TorOutput}
	t, err := tor.Start(life, &tor.StartConf{
		ProcessCreator:  cr,
		DataDir:         s.cfg.DataDir,
		TorrcFile:       s.torrcPath(),
		EnableNetwork:   true,
		NoAutoSocksPort: true,
		ExtraArgs: []string{"--defaults-torrc", s.emptyPath(),
			"__OwningControllerProcess", fmt.Sprint(os.Getpid())},
	})
	if err != nil {
		if cr.proc != nil && cr.proc.cmd.Process != nil {
			killProc(cr.proc) // bine's own cleanup gives up after 300 ms
		}
		return nil, fmt.Errorf("onion: start tor: %w", err)
	}
	inst := &instance{tor: t, proc: cr.proc}
	if err := s.publish(inst); err != nil {
		inst.stop()
		return nil, err
	}
	return inst, nil
}

// torrc returns the generated torrc: no SOCKS port (this tor only hosts services) or, with Config.SOCKS,
// one on a unix socket only, then Config.ExtraTorrc, then (ExportCircuitID) the public service's own lines.
func (s *Service) torrc() string {
	socks := "SocksPort 0"
	if s.cfg.SOCKS {
		socks = "SocksPort unix:" + s.SOCKSPath()
	}
	lines := append([]string{socks, "SafeLogging 1"}, s.cfg.ExtraTorrc...)
	if s.cfg.ExportCircuitID {
		lines = append(lines, s.publicServiceTorrc()...)
	}
	return strings.Join(lines, "\n") + "\n"
}

func (s *Service) torrcPath() string { return filepath.Join(s.cfg.DataDir, "torrc") }
func (s *Service) emptyPath() string { return filepath.Join(s.cfg.DataDir, "torrc-defaults") }

// writeTorrc writes the torrc and an empty defaults file (so tor never reads the system's torrc files).
func (s *Service) writeTorrc() error {
	if s.cfg.ExportCircuitID {
		if err := s.writeHSDir(); err != nil {
			return err
		}
	}
	if s.cfg.SOCKS {
		os.Remove(s.SOCKSPath()) // a socket a killed tor left; the new one binds it again
	}
	if err := os.WriteFile(s.torrcPath(), []byte(s.torrc()), 0o600); err != nil {
		return fmt.Errorf("onion: write torrc: %w", err)
	}
	if err := os.WriteFile(s.emptyPath(), nil, 0o600); err != nil {
		return fmt.Errorf("onion: write torrc: %w", err)
	}
	return nil
}

// removeStaleControlPortFiles removes the files bine leaves for each start, so restarts do not pile them up.
func (s *Service) removeStaleControlPortFiles() {
	old, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "control-port-*"))
	for _, f := range old {
		os.Remove(f)
	}
}

// publish sends ADD_ONION for the public service (unless the torrc configures it: ExportCircuitID)
// and, if any client is authorised, the restricted one.
func (s *Service) publish(inst *instance) error {
	if s.cfg.ExportCircuitID {
		if err := s.checkHSDirAddress(); err != nil {
			return err
		}
	} else if err := inst.addOnion(s.publicSpec()); err != nil {
		return err
	}
	s.mu.Lock()
	spec := s.restrictedSpec()
	s.mu.Unlock()
	if len(spec.clientAuth) == 0 {
		return nil
	}
	return inst.addOnion(spec)
}

// bootstrapped reports tor's bootstrap progress: whether it reached 100 %, and the phase line for errors.
func (inst *instance) bootstrapped() (bool, string, error) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	kvs, err := inst.tor.Control.GetInfo("status/bootstrap-phase")
	if err != nil {
		return false, "", fmt.Errorf("onion: tor control: %w", err)
	}
	if len(kvs) == 0 {
		return false, "", fmt.Errorf("onion: tor control: no bootstrap status")
	}
	phase := kvs[0].Val
	return strings.Contains(phase, "PROGRESS=100 "), phase, nil
}

// awaitBootstrap polls tor's bootstrap status until it reaches 100 %, tor exits, or ctx is done.
func (inst *instance) awaitBootstrap(ctx context.Context) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := "none yet"
	for {
		ok, phase, err := inst.bootstrapped()
		if ok {
			return nil
		}
		if err == nil {
			last = phase
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("last status: %s: %w", last, ctx.Err())
		case <-inst.proc.done:
			return fmt.Errorf("onion: tor exited while bootstrapping (last status: %s)", last)
		case <-tick.C:
		}
	}
}

// stop asks tor to exit (SIGNAL HALT), closes the control connection, and kills tor if it has not exited
// within a few seconds.
func (inst *instance) stop() {
	inst.mu.Lock()
	if inst.tor.Control != nil {
		_ = inst.tor.Control.Signal("HALT")
		_ = inst.tor.Control.Close()
	}
	inst.mu.Unlock()
	select {
	case <-inst.proc.done:
	case <-time.After(5 * time.Second):
		killProc(inst.proc)
	}
}

// killProc kills tor by its pid and waits for it to be reaped.
func killProc(p *torProc) {
	_ = p.cmd.Process.Kill()
	<-p.done
}

var _ process.Creator = (*creator)(nil)
