package tornet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// NewClient starts one more client tor and waits for it to bootstrap. Its ClientOnionAuthDir holds
// clientAuthLines, one file each, in tor's "<address-without-.onion>:descriptor:x25519:<base32 key>"
// format — so a test can show that a restricted onion service answers with the right key and not without.
// It returns the client's SOCKS5 address. Close stops it with the rest of the network.
func (n *Network) NewClient(ctx context.Context, clientAuthLines []string) (string, error) {
	n.mu.Lock()
	n.clients++
	name := "client" + strconv.Itoa(n.clients)
	n.mu.Unlock()
	nd, err := n.newNode(name, roleClient)
	if err != nil {
		return "", err
	}
	authDir := filepath.Join(nd.dir, "onion-auth")
	if err := os.Mkdir(authDir, 0o700); err != nil {
		return "", fmt.Errorf("tornet: %w", err)
	}
	for i, line := range clientAuthLines {
		p := filepath.Join(authDir, fmt.Sprintf("key%d.auth_private", i))
		if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("tornet: %w", err)
		}
	}
	p, err := n.run(nd, authDir)
	if err != nil {
		return "", err
	}
	if err := p.wait(ctx); err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(nd.socks), nil
}
