// Command candor runs the Candor service and its admin and sync commands.
//
// It is wiring only: flags are turned into Config structs for the packages that do the work
// (server, server/store, onion, crypto). See docs/admin.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

const usage = `Usage:
    candor init     --data DIR [--reviewer CARD]...
    candor reviewer add|remove|list|token --data DIR ...
    candor category list|load --data DIR [FILE]
    candor serve    --data DIR [--dev-listen ADDR] [--tor PATH] [--tor-extra-config FILE]
    candor status   --data DIR [--json]
    candor backup   --data DIR --to FILE
    candor restore  --data DIR --from FILE [--force]
    candor retention --data DIR [--now YYYY-MM-DD]
    candor sync pull --server URL --token TOKEN [--socks ADDR] [--since N] -o BUNDLE
    candor sync push --server URL --token TOKEN [--socks ADDR] OUTBOX
    candor demo     [--dir DIR]
    candor version

Run "candor COMMAND --help" for the options of a command. See docs/admin.md.
`

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// command is one subcommand: run gets the arguments after the command name.
type command struct {
	run func(args []string, stdout, stderr io.Writer) error
}

// errUsage marks an error whose message is a usage problem (the flag package already printed it).
var errUsage = errors.New("usage")

func commands() map[string]command {
	m := map[string]command{
		"version": {run: runVersion},
	}
	for name, c := range extraCommands {
		m[name] = c
	}
	return m
}

// extraCommands is filled by the init functions of the command files (admin.go, serve.go, sync.go, …)
// so that each group of commands lives in its own file.
var extraCommands = map[string]command{}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	cmds := commands()
	c, ok := cmds[args[0]]
	if !ok {
		names := make([]string, 0, len(cmds))
		for n := range cmds {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "candor: error: unknown command %q\nhint: commands are %s\n", args[0], strings.Join(names, ", "))
		return 1
	}
	if err := c.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "candor: error: %v\n", err)
		}
		return 1
	}
	return 0
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "candor version", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "candor %s\n", Version)
	return nil
}

// newFlagSet returns a flag set that prints its usage line and options to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after positional arguments ("export CASE DIR --raw"); the
// positional arguments are left in fs.Args(). A flag error has already been printed, so it becomes
// errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			positional = append(positional, rest[1:]...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}
