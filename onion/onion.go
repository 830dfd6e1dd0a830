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
// The exception is Config.ExportCircuitID (per-circuit budgets): ADD_ONION cannot ask tor to export
// circuit identifiers, so the public service is then configured in the torrc from a HiddenServiceDir
// holding its key in tor's file format while tor runs (hsdir.go says why and where).
// A watchdog restarts tor with the same configuration and keys if it dies; the listeners are Candor's
// own, so they stay open across restarts.
package onion

import (
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"time"

	"candor/onion/onionkey"
)

// DefaultBootstrapTimeout is how long Start waits for tor to bootstrap when Config.BootstrapTimeout is 0.
const DefaultBootstrapTimeout = 3 * time.Minute

// VirtualPort is the port both onion services listen on: clients use http://ADDRESS/.
const VirtualPort = 80

// DefaultMaxStreams is the suggested Config.MaxStreams for the public service. Tor Browser opens at
// most six simultaneous connections to one site (Firefox's network.http.max-persistent-connections-
// per-server), all on the same circuit; 20 leaves room for a page's stylesheet and images and for
// connections that are closing, while one circuit can no longer hold hundreds of streams.
const DefaultMaxStreams = 20

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
	// ExportCircuitID makes tor start every stream to the public service with a PROXY-protocol header
	// naming the client's circuit (HiddenServiceExportCircuitID haproxy; read it with
	// internal/torcircuit). ADD_ONION cannot express this option, so the public service is then
	// configured in the torrc, from a HiddenServiceDir under DataDir into which Start writes the
	// identity key in tor's file format (see hsdir.go). The address stays the same.
	ExportCircuitID bool
	// MaxStreams bounds the simultaneous streams of one client circuit to the public service; a circuit
	// that opens more is closed by tor (MaxStreamsCloseCircuit). 0 means no bound. DefaultMaxStreams
	// says why 20.
	MaxStreams int
	// RestrictedMaxStreams is MaxStreams for the restricted service; 0 means no bound.
	RestrictedMaxStreams int
	// SOCKS also opens tor's SOCKS port, on a unix socket in the sockets directory (SOCKSPath,
	// SOCKSAddr), for the server's own outgoing requests (onion witnesses, the notifier's webhook), so
	// that they leave through Tor rather than from the server's address. Without it this tor only
	// hosts the services.
	SOCKS bool
	// OnRestart, if set, is called when the watchdog finds that tor died, before it starts a new
	// one: a new tor numbers its circuits afresh, so whatever the caller keeps per circuit
	// identifier (server/circuit's budgets) must be forgotten.
	OnRestart func()
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
	ErrClientAuthKey = onionkey.ErrClientAuthKey
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
