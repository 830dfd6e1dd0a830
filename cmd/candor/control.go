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

	"candor/admin"
	"candor/installation"
	"candor/server/store"
)

// adminAPI is what the admin commands need: *server.Admin on a store this process opened, or
// *server.ControlClient when candor serve holds the store.
type adminAPI interface {
	Reviewers() ([]admin.ReviewerInfo, error)
	AddReviewer(card []byte) (admin.ReviewerInfo, error)
	RemoveReviewer(fp string, force bool) (admin.ReviewerInfo, error)
	IssueToken(fp string) (admin.Token, error)
	Settings() (installation.Settings, error)
	LoadSettings(file []byte) (installation.Settings, error)
	Status() (admin.Status, error)
	Backup(w io.Writer, recipients []string) (admin.BackupInfo, error)
	Witnesses() ([]admin.WitnessInfo, error)
	AddWitness(url, key string) (admin.WitnessInfo, error)
	RemoveWitness(key string) error
}

var (
	_ adminAPI = (*admin.Admin)(nil)
	_ adminAPI = (*admin.ControlClient)(nil)
)

// adminLockTimeout is how long an admin command waits for the store's lock before it turns to the
// control socket of a running server.
const adminLockTimeout = 300 * time.Millisecond

// openAdmin opens the store of data directly, or, if candor serve holds it, connects to the
// server's control socket. The returned function releases what was opened.
func openAdmin(data string) (adminAPI, func(), error) {
	path := filepath.Join(data, installation.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no store in %s (run candor init --data %s)", data, data)
	}
	st, err := store.Open(path, &store.Options{LockTimeout: adminLockTimeout, ChunkSize: store.MaxChunkSize})
	if errors.Is(err, store.ErrLocked) {
		if _, serr := os.Stat(filepath.Join(data, admin.ControlSocket)); serr != nil {
			return nil, nil, fmt.Errorf("%w, and it has no control socket (is an older candor running?)", err)
		}
		return admin.NewControlClient(data), func() {}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	a, err := admin.New(admin.Config{Store: st, DataDir: data})
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

// adminCommand parses args with fs (whose --data flag is data), checks that there are want
// positional arguments, and runs fn with the admin API: the running server's control socket, or
// the store when no server runs.
func adminCommand(fs *flag.FlagSet, data *string, args []string, want int, fn func(a adminAPI) error) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	a, done, err := adminFor(fs, *data, want)
	if err != nil {
		return err
	}
	defer done()
	return fn(a)
}

// subcommand runs the subcommand args[0] of group from cmds with the arguments after it. With no
// arguments, or -h or --help, it prints usage (an error only without arguments); an unknown
// subcommand gets the usage and an error naming it.
func subcommand(group, usage string, args []string, stdout, stderr io.Writer, cmds map[string]func([]string, io.Writer, io.Writer) error) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd := cmds[args[0]]
	if cmd == nil {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown %s command %q", group, args[0])
	}
	return cmd(args[1:], stdout, stderr)
}

// sayLive tells the admin that a running server uses what was loaded without a restart.
func sayLive(stdout io.Writer, a adminAPI) {
	if _, live := a.(*admin.ControlClient); live {
		fmt.Fprintln(stdout, "the running candor serve uses them now (no restart needed)")
	}
}

// needData checks that --data was given and that the positional arguments number want (-1: any).
// A missing --data is said in words, with where it comes from, before the usage.
func needData(fs *flag.FlagSet, data string, want int) error {
	if data == "" {
		fs.Usage()
		return withHint(errNoData, "give --data DIR (the directory candor init made) or set CANDOR_DATA=DIR")
	}
	if want >= 0 && fs.NArg() != want {
		fs.Usage()
		return errUsage
	}
	return nil
}

// errNoData is the error of a command run without --data and without $CANDOR_DATA.
var errNoData = errors.New("no data directory: --data is missing and CANDOR_DATA is not set")

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
