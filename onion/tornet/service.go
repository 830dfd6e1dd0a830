package tornet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// NewService starts one more tor on the network that publishes a v3 onion service whose port 80
// forwards to target (a loopback host:port, e.g. a test's HTTP server), waits for it to bootstrap
// and returns the service's address ("xxx.onion"). The service may take a little longer to become
// reachable than the address to appear. Close stops it with the rest of the network.
func (n *Network) NewService(ctx context.Context, target string) (string, error) {
	n.mu.Lock()
	n.clients++
	name := "service" + strconv.Itoa(n.clients)
	n.mu.Unlock()
	nd, err := n.newNode(name, roleService)
	if err != nil {
		return "", err
	}
	nd.target = target
	p, err := n.run(nd, "")
	if err != nil {
		return "", err
	}
	if err := p.wait(ctx); err != nil {
		return "", err
	}
	host := filepath.Join(nd.dir, "hs", "hostname")
	for {
		if b, err := os.ReadFile(host); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("tornet: %s wrote no onion hostname: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
