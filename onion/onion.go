// Package onion publishes Candor as two Tor v3 onion services, run by a tor process it starts and watches.
//
// The public service carries the reporter pages; the restricted service carries the reviewers' sync API and
// answers only clients that hold one of the authorised x25519 client-authorization keys (v3 client
// authorization: without the key, a client cannot even decrypt the service's descriptor).
//
//	svc, err := onion.Start(ctx, onion.Config{
//		DataDir:       "/data/tor",
//		PublicKey:     publicKey,     // ed25519 keys persisted by the caller:
//		RestrictedKey: restrictedKey, // the addresses derive from them
//		ClientAuth:    reviewerKeys,  // base32 x25519 public keys
//		PoW:           true,
//	})
//	go http.Serve(svc.Public(), reporterPages)
//	go http.Serve(svc.Restricted(), syncAPI)
//	fmt.Println(svc.PublicAddr(), svc.RestrictedAddr())
//
// Both services forward virtual port 80 to unix sockets in a 0700 directory, never to TCP ports: nothing
// but tor (running as the same user) can connect to them, and no local TCP port exposes the pages.
//
// The services are ephemeral ADD_ONION services sent over tor's control connection (through
// github.com/cretz/bine): the identity keys never reach tor's data directory or any other file, and the
// client-authorization keys are sent as ADD_ONION ClientAuthV3 arguments, which bine v0.2.0 lacks.
// A watchdog restarts tor with the same configuration and keys if it dies; the listeners are Candor's
// own, so they stay open across restarts.
package onion

import (
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"time"
)

// DefaultBootstrapTimeout is how long Start waits for tor to bootstrap when Config.BootstrapTimeout is 0.
const DefaultBootstrapTimeout = 3 * time.Minute

// VirtualPort is the port both onion services listen on: clients use http://ADDRESS/.
const VirtualPort = 80

// Config configures Start.
type Config struct {
	// TorPath is the tor binary; empty means "tor" from PATH.
	TorPath string
	// DataDir is tor's own data directory, created 0700 if missing. The unix sockets live in its
	// "sockets" subdirectory, so its path must be short (unix socket paths are limited to about 100 bytes).
	DataDir string
	// ExtraTorrc holds torrc lines appended to the generated torrc, e.g. those that join a private test
	// network (tornet's ServiceTorrc) or an admin's bridge and proxy settings.
	ExtraTorrc []string
	// PublicKey and RestrictedKey are the identity keys of the two services. Both are required.
	PublicKey, RestrictedKey ed25519.PrivateKey
	// ClientAuth holds the base32 x25519 public keys authorised on the restricted service. With none,
	// the restricted service is not published at all (SetClientAuth publishes it).
	ClientAuth []string
	// PoW enables tor's proof-of-work defence against introduction floods on the public service.
	PoW bool
	// BootstrapTimeout bounds Start's wait for tor to bootstrap; 0 means DefaultBootstrapTimeout.
	BootstrapTimeout time.Duration
	// Log receives state changes (tor started, died, restarted); nil discards them. Nothing logged
	// names a key, an address or a client.
	Log *slog.Logger
	// TorOutput receives tor's own log (warnings and errors; notices too if ExtraTorrc asks for them);
	// nil discards it.
	TorOutput io.Writer
}

// Errors returned by this package. Callers branch on them with errors.Is.
var (
	// ErrNoKey means Config.PublicKey or Config.RestrictedKey is missing or malformed.
	ErrNoKey = errors.New("onion: missing or malformed onion service key")
	// ErrClientAuthKey means a client-authorization key is not a base32 x25519 public key.
	ErrClientAuthKey = errors.New("onion: malformed client-authorization key (want base32 x25519 public key)")
	// ErrBootstrapTimeout means tor did not finish bootstrapping within Config.BootstrapTimeout.
	ErrBootstrapTimeout = errors.New("onion: tor did not bootstrap in time")
	// ErrSocketPath means the socket directory's path cannot be used (too long, or with spaces).
	ErrSocketPath = errors.New("onion: unusable unix socket path")
	// ErrClosed means the service has been closed.
	ErrClosed = errors.New("onion: service closed")
)

// State is the health of the tor process behind a Service.
type State int

const (
	// StateStarting: tor runs but has not finished bootstrapping.
	StateStarting State = iota
	// StateRunning: tor has bootstrapped and the services are published.
	StateRunning
	// StateRestarting: tor died; the watchdog is starting a new one.
	StateRestarting
	// StateClosed: Close was called.
	StateClosed
)

// String returns the state's name as candor status prints it.
func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateRunning:
		return "running"
	case StateRestarting:
		return "restarting"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}
