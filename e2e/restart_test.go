package e2e

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"candor/onion/tornet"
)

// restartTimeout bounds the watchdog's restart of a killed tor (it backs off from 0.5 s).
const restartTimeout = 60 * time.Second

// TestServeRestart shows that the onion addresses survive a restart of candor serve (they derive
// from keys kept in the store) and that the service answers again at the same address; then that a
// killed tor is noticed and restarted by candor serve's watchdog and the public onion answers again.
func TestServeRestart(t *testing.T) {
	t.Parallel()
	n := network(t)
	in := newInstall(t, candorBin(t, raceEnabled), "Alice")
	first := startServe(t, in, n)
	waitOK(t, n.SOCKSAddr(), first.public)
	oldTor := first.torPID()
	first.stop(t)
	if oldTor == 0 {
		t.Error("found no tor child of candor serve")
	} else if alive(oldTor) {
		t.Errorf("tor (pid %d) still runs after candor serve stopped", oldTor)
	}

	second := startServe(t, in, n)
	if second.public != first.public || second.restricted != first.restricted {
		t.Fatalf("addresses changed across a restart: public %s → %s, restricted %s → %s",
			first.public, second.public, first.restricted, second.restricted)
	}
	// A fresh client each time: the network's long-lived client may hold the previous instance's
	// descriptor, whose introduction points are gone (see freshClient).
	waitOK(t, freshClient(t, n), second.public)

	t.Run("killed tor is restarted", func(t *testing.T) {
		pid := second.torPID()
		if pid == 0 {
			t.Fatal("found no tor child of candor serve")
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("killing tor: %v", err)
		}
		newPID := waitFor(t, restartTimeout, "a new tor child of candor serve", func() int {
			if p := second.torPID(); p != pid && p != 0 {
				return p
			}
			return 0
		})
		waitFor(t, restartTimeout, `the log line "tor restarted and bootstrapped"`, func() int {
			if strings.Contains(second.out.String(), "tor restarted and bootstrapped") {
				return 1
			}
			return 0
		})
		t.Logf("tor pid %d killed; watchdog started pid %d", pid, newPID)
		waitOK(t, freshClient(t, n), second.public)
	})
}

// freshClient starts a new tor client on the network and returns its SOCKS address. After the
// service's tor has been replaced, the network's long-lived client sometimes kept failing for over two
// minutes on the descriptor it had cached (whose introduction points died with the old tor), although
// the new descriptor was published: that is the client's cache, not the service, so the checks after
// a restart use a client without one.
func freshClient(t *testing.T, n *tornet.Network) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), networkTimeout)
	defer cancel()
	socks, err := n.NewClient(ctx, nil)
	if err != nil {
		t.Fatalf("new tor client: %v", err)
	}
	return socks
}

// waitOK waits until GET http://addr/ through socks answers 200.
func waitOK(t *testing.T, socks, addr string) {
	t.Helper()
	if code, _ := waitReachable(t, socks, "http://"+addr+"/"); code != http.StatusOK {
		t.Fatalf("GET / through %s: status %d, want 200", addr, code)
	}
}

// waitFor polls f every 200 ms until it returns non-zero, for at most timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, f func() int) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if v := f(); v != 0 {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
