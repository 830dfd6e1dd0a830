package tornet

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// commonTorrc returns the options every tor of the private network uses (ENVIRONMENT.md's verified recipe).
// TestingTorNetwork together with explicit DirAuthority lines is what keeps a tor off the public network:
// the built-in authorities are replaced, so the only directories it can ever learn of are ours.
func commonTorrc() []string {
	return []string{
		"TestingTorNetwork 1",
		"ClientUseIPv6 0",
		"AssumeReachable 1",
		"PathsNeededToBuildCircuits 0.25",
		"TestingDirAuthVoteExit *",
		"TestingDirAuthVoteHSDir *",
		"TestingDirAuthVoteGuard *",
		"TestingMinExitFlagThreshold 0",
		"V3AuthNIntervalsValid 2",
	}
}

// authorityTorrc returns the options only directory authorities add.
func authorityTorrc() []string {
	return []string{
		"AuthoritativeDirectory 1",
		"V3AuthoritativeDirectory 1",
		"TestingV3AuthInitialVotingInterval 5",
		"V3AuthVotingInterval 10",
		"TestingV3AuthInitialVoteDelay 2",
		"V3AuthVoteDelay 2",
		"TestingV3AuthInitialDistDelay 2",
		"V3AuthDistDelay 2",
	}
}

// role is what a node of the network does.
type role int

const (
	roleAuthority role = iota
	roleRelay
	roleClient
	roleService // hosts one onion service (NewService)
)

// node is one tor process of the network, before or after it starts.
type node struct {
	name    string
	role    role
	dir     string // DataDirectory
	orPort  int    // authorities and relays
	dirPort int    // authorities
	socks   int    // clients
	v3ident string // authorities: from tor-gencert
	fpr     string // authorities: relay identity fingerprint
	target  string // services: where the onion service's port 80 goes (host:port)
}

// dirAuthorityLine is the DirAuthority line that names authority n.
func (n *node) dirAuthorityLine() string {
	return fmt.Sprintf("DirAuthority %s orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s",
		n.name, n.orPort, n.v3ident, n.dirPort, n.fpr)
}

// baseTorrc returns the lines every tor joining the network needs: the common options and the DirAuthority
// lines of auths.
func baseTorrc(auths []*node) []string {
	lines := commonTorrc()
	for _, a := range auths {
		lines = append(lines, a.dirAuthorityLine())
	}
	return lines
}

// torrc returns the complete torrc of n in a network whose authorities are auths. Every address is
// 127.0.0.1.
func (n *node) torrc(auths []*node, authDir string) []string {
	lines := baseTorrc(auths)
	lines = append(lines,
		"DataDirectory "+n.dir,
		"Nickname "+n.name,
		"Log notice stdout",
		"SafeLogging 1",
		"ControlPort 0",
	)
	switch n.role {
	case roleAuthority:
		lines = append(lines, authorityTorrc()...)
		lines = append(lines, "DirPort 127.0.0.1:"+strconv.Itoa(n.dirPort))
		fallthrough
	case roleRelay:
		lines = append(lines,
			"Address 127.0.0.1",
			"ORPort 127.0.0.1:"+strconv.Itoa(n.orPort),
			"SocksPort 0",
			"ExitRelay 0",
		)
	case roleClient:
		// ExtendedErrors: tor answers onion failures with specific SOCKS codes (0xF4: client
		// authorization missing), so tests can tell "refused for lack of a key" from "not reachable".
		lines = append(lines, "SocksPort 127.0.0.1:"+strconv.Itoa(n.socks)+" ExtendedErrors")
		if authDir != "" {
			lines = append(lines, "ClientOnionAuthDir "+authDir)
		}
	case roleService:
		lines = append(lines, "SocksPort 0", "HiddenServiceDir "+filepath.Join(n.dir, "hs"),
			"HiddenServicePort 80 "+n.target)
	}
	return lines
}
