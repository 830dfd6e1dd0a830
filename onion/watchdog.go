package onion

import (
	"context"
	"time"
)

// Restart back-off bounds: the first restart is immediate-ish, repeated failures slow down.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// watchdog waits for tor to exit and, unless the service is closing, starts a new tor with the same
// configuration, keys and client authorizations. The listeners are untouched: the new tor connects to the
// same sockets.
func (s *Service) watchdog(inst *instance) {
	defer close(s.watchdogDone)
	for {
		select {
		case <-inst.proc.done:
		case <-s.life.Done():
			return
		}
		if s.life.Err() != nil || s.State() == StateClosed {
			return // Close stopped tor
		}
		s.setState(StateRestarting)
		s.log.Warn("onion: tor exited unexpectedly; restarting it")
		if s.cfg.OnRestart != nil {
			s.cfg.OnRestart()
		}
		if inst = s.relaunch(); inst == nil {
			return
		}
		if err := inst.awaitBootstrap(s.life); err == nil {
			s.setState(StateRunning)
			s.log.Info("onion: tor restarted and bootstrapped")
		}
	}
}

// relaunch starts tor until it succeeds, backing off between failures. It returns nil once the service is
// closing.
func (s *Service) relaunch() *instance {
	backoff := minBackoff
	for {
		if !sleep(s.life, backoff) {
			return nil
		}
		s.authMu.Lock() // a concurrent SetClientAuth lands either before publish or on the adopted tor
		inst, err := s.launch(s.life)
		adopted := err == nil && s.adopt(inst)
		s.authMu.Unlock()
		if adopted {
			return inst
		}
		if err == nil {
			inst.stop()
			return nil
		}
		s.log.Error("onion: restarting tor failed", "err", err)
		backoff = min(2*backoff, maxBackoff)
	}
}

// adopt makes inst the current tor unless the service closed meanwhile.
func (s *Service) adopt(inst *instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateClosed {
		return false
	}
	s.inst = inst
	s.state = StateStarting
	s.restarts++
	return true
}

// sleep waits d or until ctx is done; it reports whether the full d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
