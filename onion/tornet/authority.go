package tornet

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// newAuthority creates authority i: its data directory, its v3 authority keys (tor-gencert) and its relay
// identity key, whose fingerprints go into every DirAuthority line.
func (n *Network) newAuthority(ctx context.Context, i int) (*node, error) {
	a, err := n.newNode(fmt.Sprintf("auth%d", i), roleAuthority)
	if err != nil {
		return nil, err
	}
	if a.v3ident, err = n.genCert(ctx, a); err != nil {
		return nil, err
	}
	if a.fpr, err = n.relayFingerprint(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// genCert runs tor-gencert (next to tor, or on PATH) in a's keys directory and returns the v3 identity.
func (n *Network) genCert(ctx context.Context, a *node) (string, error) {
	keys := filepath.Join(a.dir, "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		return "", fmt.Errorf("tornet: %w", err)
	}
	cmd := exec.CommandContext(ctx, n.genCertPath(), "--create-identity-key", "--passphrase-fd", "0",
		"-m", "12", "-a", "127.0.0.1:"+strconv.Itoa(a.dirPort))
	cmd.Dir = keys
	cmd.Stdin = strings.NewReader("") // an empty passphrase
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tornet: tor-gencert: %w: %s", err, bytes.TrimSpace(out))
	}
	cert, err := os.ReadFile(filepath.Join(keys, "authority_certificate"))
	if err != nil {
		return "", fmt.Errorf("tornet: %w", err)
	}
	return field(cert, "fingerprint")
}

// genCertPath finds tor-gencert next to the tor binary, else on PATH.
func (n *Network) genCertPath() string {
	if p, err := exec.LookPath(n.torPath); err == nil {
		cand := filepath.Join(filepath.Dir(p), "tor-gencert")
		if _, err := os.Stat(cand); err == nil {
			return cand
		}
	}
	return "tor-gencert"
}

// relayFingerprint makes tor create a's relay identity key and returns its fingerprint. DisableNetwork and
// empty torrcs keep this tor offline: it writes keys and exits.
func (n *Network) relayFingerprint(ctx context.Context, a *node) (string, error) {
	empty := n.emptyTorrc()
	cmd := exec.CommandContext(ctx, n.torPath, "--defaults-torrc", empty, "-f", empty,
		"--list-fingerprint", "--DisableNetwork", "1", "--DataDirectory", a.dir,
		"--ORPort", "127.0.0.1:"+strconv.Itoa(a.orPort))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tornet: tor --list-fingerprint: %w: %s", err, bytes.TrimSpace(out))
	}
	b, err := os.ReadFile(filepath.Join(a.dir, "fingerprint"))
	if err != nil {
		return "", fmt.Errorf("tornet: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || len(f[1]) != 40 {
		return "", fmt.Errorf("tornet: malformed fingerprint file of %s", a.name)
	}
	return f[1], nil
}

// field returns the value of the first "key value" line of b.
func field(b []byte, key string) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+" "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("tornet: no %q line in authority certificate", key)
}
