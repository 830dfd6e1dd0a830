package tornet

import (
	"context"
	"os"
	"testing"
	"time"

	"candor/internal/testenv"
)

// readyTimeout bounds ForTest's bootstrap wait; the network usually needs 15–30 seconds.
const readyTimeout = 90 * time.Second

// ForTest starts a network for t and waits for it to bootstrap. It skips t with an install hint when tor
// is missing (fails under CANDOR_CI=1), fails t when the network does not come up, and closes the network
// in t.Cleanup. Tor's logs go to t.Log only when the network fails to start or CANDOR_TORNET_LOG=1.
func ForTest(t testing.TB) *Network {
	t.Helper()
	torPath := testenv.Tor(t)
	var log *testLog
	if os.Getenv("CANDOR_TORNET_LOG") == "1" {
		log = &testLog{t: t}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	opts := Options{TorPath: torPath}
	if log != nil {
		opts.Log = log
	}
	n, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("tornet: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.WaitReady(ctx); err != nil {
		t.Fatalf("tornet: %v (set CANDOR_TORNET_LOG=1 to see tor's logs)", err)
	}
	return n
}

// testLog writes tor's log lines to t.Log.
type testLog struct{ t testing.TB }

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Log(string(p))
	return len(p), nil
}
