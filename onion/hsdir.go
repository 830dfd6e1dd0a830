package onion

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"candor/internal/atomicfile"
)

// With Config.ExportCircuitID the public service is not an ADD_ONION service: tor's control protocol
// has no argument for HiddenServiceExportCircuitID, so the service is configured in the torrc instead,
// and tor reads its identity key from a HiddenServiceDir. Start writes the key there before each tor
// start, in tor's own file format, so the address stays the one derived from the key Candor persists.
//
// The key file has to stay while tor runs: tor reads every HiddenServiceDir again on each configuration
// reload (a SETCONF or a SIGHUP) and would generate and publish a new key — a new address — if the file
// were gone. It lives in a 0700 directory under DataDir (0600 file), beside Candor's store, which holds
// the same key; Close removes it. Without ExportCircuitID no key is ever written to a file.

// hsDirName is the public service's HiddenServiceDir inside DataDir.
const hsDirName = "hs-public"

// Tor's tagged key files (crypto_write_tagged_contents_to_file): a 32-byte header "== TAG: type0 =="
// padded with NUL bytes, then the key.
const (
	secretKeyFile = "hs_ed25519_secret_key"
	publicKeyFile = "hs_ed25519_public_key"
	hostnameFile  = "hostname"
	tagHeaderLen  = 32
)

func (s *Service) hsDir() string { return filepath.Join(s.cfg.DataDir, hsDirName) }

// publicServiceTorrc returns the torrc lines of the public service with circuit export.
func (s *Service) publicServiceTorrc() []string {
	lines := []string{
		"HiddenServiceDir " + s.hsDir(),
		"HiddenServiceVersion 3",
		"HiddenServicePort " + strconv.Itoa(VirtualPort) + " unix:" + s.socketPath("public"),
		"HiddenServiceExportCircuitID haproxy",
	}
	if s.cfg.PoW {
		lines = append(lines, "HiddenServicePoWDefensesEnabled 1")
	}
	if s.cfg.MaxStreams > 0 {
		lines = append(lines, "HiddenServiceMaxStreams "+strconv.Itoa(s.cfg.MaxStreams),
			"HiddenServiceMaxStreamsCloseCircuit 1")
	}
	return lines
}

// tagged returns tor's tagged file contents: the padded header, then body.
func tagged(tag string, body []byte) []byte {
	hdr := make([]byte, tagHeaderLen)
	copy(hdr, "== "+tag+": type0 ==")
	return append(hdr, body...)
}

// hsKeyFiles returns the contents of tor's two key files for key: the secret one holds tor's 64-byte
// expanded key (the same bytes ADD_ONION takes in base64), the public one the 32-byte public key.
func hsKeyFiles(key ed25519.PrivateKey) (secret, public []byte) {
	expanded, _ := base64.StdEncoding.DecodeString(torKeyBlob(key))
	secret = tagged("ed25519v1-secret", expanded)
	clear(expanded)
	return secret, tagged("ed25519v1-public", key.Public().(ed25519.PublicKey))
}

// writeHSDir creates the 0700 HiddenServiceDir and writes the key files; it removes a hostname file a
// previous tor left, so that checkHSDirAddress reads the one this tor writes.
func (s *Service) writeHSDir() error {
	dir := s.hsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("onion: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("onion: %w", err)
	}
	secret, public := hsKeyFiles(s.cfg.PublicKey)
	defer clear(secret)
	if err := writeFileAtomic(filepath.Join(dir, secretKeyFile), secret); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, publicKeyFile), public); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, hostnameFile)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("onion: %w", err)
	}
	return nil
}

// checkHSDirAddress checks that the tor just started serves the public service at the address derived
// from Config.PublicKey: tor writes the address it derived from the key file to "hostname" when it
// loads the configuration, before the control port answers.
func (s *Service) checkHSDirAddress() error {
	b, err := os.ReadFile(filepath.Join(s.hsDir(), hostnameFile))
	if err != nil {
		return fmt.Errorf("onion: publish the public service: tor wrote no hostname: %w", err)
	}
	if got := string(bytes.TrimSpace(b)); !strings.EqualFold(got, s.publicAddr) {
		return fmt.Errorf("onion: publish the public service: tor derived another address from the key")
	}
	return nil
}

// removeHSDir removes the HiddenServiceDir and the key file in it (Close).
func (s *Service) removeHSDir() {
	if s.cfg.ExportCircuitID {
		os.RemoveAll(s.hsDir())
	}
}

// writeFileAtomic writes b to path with mode 0600, whole or not at all (atomicfile).
func writeFileAtomic(path string, b []byte) error {
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("onion: write %s: %w", filepath.Base(path), err)
	}
	return nil
}
