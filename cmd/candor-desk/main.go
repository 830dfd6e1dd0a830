// Command candor-desk is the reviewer's desk: a local web UI over a candor-inbox home, for
// reviewers who would rather not use a shell. It listens on a loopback address only, prints the
// one URL to open (it holds a per-launch secret), needs no JavaScript, and never dials out.
// Everything it does is a call of package inbox, the same as candor-inbox makes.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"candor/desk"
	"candor/inbox"
)

const usage = `Usage:
    candor-desk --home DIR [--listen 127.0.0.1:PORT] [--passphrase-file FILE] [--idle-lock DURATION]

Serves the reviewer's desk for the inbox in DIR (default $CANDOR_INBOX_HOME) and prints
the one address to open in a browser on this computer. The address holds a secret made
for this launch: do not share it. Stop the desk with Ctrl-C.

    --listen ADDR           loopback address and port (default 127.0.0.1:0, a free port);
                            any address but 127.0.0.0/8 or ::1 is refused
    --passphrase-file FILE  unlock at start with the first line of FILE (for scripts and
                            tests); otherwise the first page asks for the passphrase
    --idle-lock DURATION    wipe the keys after this long without use (default 15m)

Example:
    $ candor-desk --home ~/inbox
    http://127.0.0.1:41703/s/Jx0…/`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	home, listen, passFile string
	idle                   time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("candor-desk", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.home, "home", os.Getenv("CANDOR_INBOX_HOME"), "inbox directory")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to listen on")
	fs.StringVar(&o.passFile, "passphrase-file", "", "unlock with the first line of FILE")
	fs.DurationVar(&o.idle, "idle-lock", desk.DefaultIdleLock, "lock after this long without use")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usage)
			return 0
		}
		return fail(stderr, fmt.Errorf("%v (see candor-desk --help)", err), "")
	}
	if fs.NArg() > 0 {
		return fail(stderr, fmt.Errorf("unexpected argument %q (see candor-desk --help)", fs.Arg(0)), "")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, o, stdout, stderr); err != nil {
		return fail(stderr, err, hint(err))
	}
	return 0
}

func serve(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if o.home == "" {
		return errors.New("no inbox directory: give --home DIR")
	}
	if o.idle <= 0 {
		return errors.New("--idle-lock must be positive")
	}
	ln, err := desk.Listen(o.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	d, err := desk.New(desk.Config{Home: o.home, IdleLock: o.idle, Log: log.New(stderr, "", log.LstdFlags)})
	if err != nil {
		return err
	}
	defer d.Close()
	if o.passFile != "" {
		if err := unlockFromFile(d, o.passFile); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, d.URL(ln)) // connections wait in the backlog until Serve
	return d.Serve(ctx, ln)
}

func unlockFromFile(d *desk.Desk, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the passphrase file: %w", err)
	}
	defer clear(b)
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return d.Unlock(bytes.Clone(bytes.TrimSuffix(line, []byte("\r"))))
}

func fail(stderr io.Writer, err error, hint string) int {
	fmt.Fprintf(stderr, "candor-desk: error: %v\n", err)
	if hint != "" {
		fmt.Fprintf(stderr, "candor-desk: hint: %s\n", hint)
	}
	return 1
}

func hint(err error) string {
	switch {
	case errors.Is(err, desk.ErrNotLoopback):
		return "the desk is for this computer only: use --listen 127.0.0.1:PORT"
	case errors.Is(err, inbox.ErrNotInitialised):
		return "check --home, or create an inbox with candor-inbox init --home DIR"
	case errors.Is(err, inbox.ErrPassphrase):
		return "check the passphrase file, or leave --passphrase-file out and unlock in the browser"
	}
	return ""
}
