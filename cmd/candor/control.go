package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"candor/server"
	"candor/server/store"
)

// adminAPI is what the admin commands need: *server.Admin on a store this process opened, or
// *server.ControlClient when candor serve holds the store.
type adminAPI interface {
	Reviewers() ([]server.ReviewerInfo, error)
	AddReviewer(card []byte) (server.ReviewerInfo, error)
	RemoveReviewer(fp string) (server.ReviewerInfo, error)
	IssueToken(fp string) (server.Token, error)
	Settings() (server.Settings, error)
	LoadSettings(file []byte) (server.Settings, error)
	Status() (server.Status, error)
	Backup(w io.Writer, recipients []string) (server.BackupInfo, error)
}

var (
	_ adminAPI = (*server.Admin)(nil)
	_ adminAPI = (*server.ControlClient)(nil)
)

// adminLockTimeout is how long an admin command waits for the store's lock before it turns to the
// control socket of a running server.
const adminLockTimeout = 300 * time.Millisecond

// openAdmin opens the store of data directly, or, if candor serve holds it, connects to the
// server's control socket. The returned function releases what was opened.
func openAdmin(data string) (adminAPI, func(), error) {
	path := filepath.Join(data, server.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no store in %s (run candor init --data %s)", data, data)
	}
	st, err := store.Open(path, &store.Options{LockTimeout: adminLockTimeout, ChunkSize: store.MaxChunkSize})
	if errors.Is(err, store.ErrLocked) {
		if _, serr := os.Stat(filepath.Join(data, server.ControlSocket)); serr != nil {
			return nil, nil, fmt.Errorf("%w, and it has no control socket (is an older candor running?)", err)
		}
		return server.NewControlClient(data), func() {}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	a, err := server.NewAdmin(server.AdminConfig{Store: st, DataDir: data})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, func() { st.Close() }, nil
}

// dataFlag defines --data, defaulting to $CANDOR_DATA (set in the container image).
func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", os.Getenv("CANDOR_DATA"), "data `directory` made by candor init (default $CANDOR_DATA)")
}

// adminFor checks the command's arguments (needData) and opens the admin API of the installation in
// data (openAdmin); callers defer the returned func.
func adminFor(fs *flag.FlagSet, data string, want int) (adminAPI, func(), error) {
	if err := needData(fs, data, want); err != nil {
		return nil, nil, err
	}
	return openAdmin(data)
}

// needData checks that --data was given and that the positional arguments number want (-1: any).
func needData(fs *flag.FlagSet, data string, want int) error {
	if data == "" || (want >= 0 && fs.NArg() != want) {
		fs.Usage()
		return errUsage
	}
	return nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// withHint adds a "hint:" line to an error, printed by run after "candor: error: …".
func withHint(err error, hint string) error {
	return fmt.Errorf("%w\nhint: %s", err, hint)
}
