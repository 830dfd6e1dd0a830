package tornet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// proc is one running tor process. Its stdout (tor's notice log) is scanned for bootstrap progress and
// copied, prefixed with the node's name, to the network's log.
type proc struct {
	name  string
	cmd   *exec.Cmd
	ready chan struct{} // closed at "Bootstrapped 100%"
	done  chan struct{} // closed when the process has exited

	mu   sync.Mutex
	last string // the last bootstrap line, for error messages
}

// startProc starts tor with the torrc file torrcPath and the (empty) defaults file defaults, so that it
// never reads the system's torrc files.
func startProc(torPath, name, defaults, torrcPath string, logw io.Writer, logMu *sync.Mutex) (*proc, error) {
	cmd := exec.Command(torPath, "--defaults-torrc", defaults, "-f", torrcPath,
		"__OwningControllerProcess", fmt.Sprint(os.Getpid()))
	setParentDeathSignal(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tornet: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, ready: make(chan struct{}), done: make(chan struct{})}
	go p.scan(out, logw, logMu)
	return p, nil
}

// scan reads tor's log until the process closes it, then reaps the process.
func (p *proc) scan(r io.Reader, logw io.Writer, logMu *sync.Mutex) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	readyClosed := false
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Bootstrapped ") {
			p.mu.Lock()
			p.last = line
			p.mu.Unlock()
			if !readyClosed && strings.Contains(line, "Bootstrapped 100%") {
				close(p.ready)
				readyClosed = true
			}
		}
		if logw != nil {
			logMu.Lock()
			fmt.Fprintf(logw, "%s: %s\n", p.name, line)
			logMu.Unlock()
		}
	}
	_, _ = io.Copy(io.Discard, r)
	_ = p.cmd.Wait()
}

// wait blocks until the process has bootstrapped, has exited, or ctx is done.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-p.done:
		return fmt.Errorf("tornet: %s exited before bootstrapping (%s)", p.name, p.lastStatus())
	case <-ctx.Done():
		return fmt.Errorf("tornet: %s not bootstrapped (%s): %w", p.name, p.lastStatus(), ctx.Err())
	}
}

func (p *proc) lastStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == "" {
		return "no bootstrap progress logged"
	}
	return "last: " + p.last[strings.Index(p.last, "Bootstrapped"):]
}

// kill kills the process by its pid and waits for it to be reaped.
func (p *proc) kill() error {
	err := p.cmd.Process.Kill()
	<-p.done
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}
