// Package tornet starts a private Tor network on loopback, so that tests can publish and reach real onion
// services without touching the public Tor network.
//
// A Network is three directory authorities (which are also relays), three relays and a client with a SOCKS
// port: seven tor processes, every one bound to 127.0.0.1 on free ports, in one temporary directory.
// Every torrc sets TestingTorNetwork 1 and explicit DirAuthority lines naming only these authorities, so no
// tor of the network can learn of, or contact, any relay outside it.
//
//	net := tornet.ForTest(t)                  // skips when tor is missing; closed by t.Cleanup
//	lines := net.ServiceTorrc()               // torrc lines an onion service's own tor needs to join
//	dialer, _ := proxy.SOCKS5("tcp", net.SOCKSAddr(), nil, proxy.Direct)
//
// Readiness is detected from tor's own log ("Bootstrapped 100%"), never by sleeping. The network
// bootstraps in about 15–30 seconds.
package tornet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Options configures Start. The zero value is valid.
type Options struct {
	// TorPath is the tor binary; empty means "tor" from PATH.
	TorPath string
	// Dir is the parent of the network's temporary directory; empty means os.TempDir().
	Dir string
	// Log receives every tor's log lines, prefixed with the node's name; nil discards them.
	Log io.Writer
}

// Network is a running private Tor network. Its methods are safe for concurrent use.
type Network struct {
	torPath string
	dir     string
	log     io.Writer
	logMu   sync.Mutex
	auths   []*node

	mu      sync.Mutex
	procs   []*proc
	clients int
	socks   string
	closed  bool
}

// ErrClosed is returned by NewClient after Close.
var ErrClosed = errors.New("tornet: network closed")

// Start creates the network's directory and keys and starts its seven tor processes. It returns once they
// run; WaitReady waits for them to bootstrap. ctx bounds the start only, not the network's life: Close
// stops it. On error, everything started is stopped and removed.
func Start(ctx context.Context, opts Options) (*Network, error) {
	if opts.TorPath == "" {
		opts.TorPath = "tor"
	}
	dir, err := os.MkdirTemp(opts.Dir, "tornet-")
	if err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}
	n := &Network{torPath: opts.TorPath, dir: dir, log: opts.Log}
	if err := os.WriteFile(n.emptyTorrc(), nil, 0o600); err != nil {
		n.Close()
		return nil, fmt.Errorf("tornet: %w", err)
	}
	if err := n.start(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Network) start(ctx context.Context) error {
	var nodes []*node
	for i := range 3 {
		a, err := n.newAuthority(ctx, i)
		if err != nil {
			return err
		}
		n.auths = append(n.auths, a)
	}
	nodes = append(nodes, n.auths...)
	for i := range 3 {
		r, err := n.newNode(fmt.Sprintf("relay%d", i), roleRelay)
		if err != nil {
			return err
		}
		nodes = append(nodes, r)
	}
	client, err := n.newNode("client0", roleClient)
	if err != nil {
		return err
	}
	n.socks = "127.0.0.1:" + strconv.Itoa(client.socks)
	for _, nd := range append(nodes, client) {
		if _, err := n.run(nd, ""); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// newNode allocates a data directory and free ports for a node of role r.
func (n *Network) newNode(name string, r role) (*node, error) {
	nd := &node{name: name, role: r, dir: filepath.Join(n.dir, name)}
	if err := os.Mkdir(nd.dir, 0o700); err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	switch r {
	case roleAuthority:
		nd.orPort, nd.dirPort = ports[0], ports[1]
	case roleRelay:
		nd.orPort = ports[0]
	case roleClient:
		nd.socks = ports[0]
	}
	return nd, nil
}

// run writes nd's torrc and starts it.
func (n *Network) run(nd *node, authDir string) (*proc, error) {
	path := filepath.Join(nd.dir, "torrc")
	text := strings.Join(nd.torrc(n.auths, authDir), "\n") + "\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	p, err := startProc(n.torPath, nd.name, n.emptyTorrc(), path, n.log, &n.logMu)
	if err != nil {
		return nil, err
	}
	n.procs = append(n.procs, p)
	return p, nil
}

// emptyTorrc is an empty file given to tor as its defaults torrc (tor refuses /dev/null), so that no tor of
// ours reads the system's torrc.
func (n *Network) emptyTorrc() string { return filepath.Join(n.dir, "empty-torrc") }

// freePorts returns count distinct free TCP ports on 127.0.0.1.
func freePorts(count int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range count {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("tornet: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// SOCKSAddr returns the host:port of the network's client SOCKS5 port. Onion names are resolved by the
// proxy: dial "xxx.onion:80" through it.
func (n *Network) SOCKSAddr() string { return n.socks }

// Dir returns the network's directory; each node's data directory and torrc are in a subdirectory.
func (n *Network) Dir() string { return n.dir }

// ServiceTorrc returns the torrc lines another tor (an onion service's) needs to join the network:
// TestingTorNetwork 1, the three DirAuthority lines and the Testing* options. The caller adds its own
// DataDirectory, SocksPort and the like.
func (n *Network) ServiceTorrc() []string { return baseTorrc(n.auths) }

// WaitReady waits until every tor of the network has bootstrapped (logged "Bootstrapped 100%"). The error
// names the first node that did not, with its last bootstrap status.
func (n *Network) WaitReady(ctx context.Context) error {
	n.mu.Lock()
	procs := append([]*proc(nil), n.procs...)
	n.mu.Unlock()
	for _, p := range procs {
		if err := p.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close kills every process the network started, by pid, and removes its directory. It is idempotent.
func (n *Network) Close() error {
	n.mu.Lock()
	procs := n.procs
	n.procs, n.closed = nil, true
	n.mu.Unlock()
	var errs []error
	for _, p := range procs {
		errs = append(errs, p.kill())
	}
	errs = append(errs, os.RemoveAll(n.dir))
	return errors.Join(errs...)
}
