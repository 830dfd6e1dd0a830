// Command candor runs the Candor service and its admin and sync commands.
//
// It is wiring only: flags are turned into Config structs for the packages that do the work
// (server, admin, installation, cases, syncclient, onion). See docs/admin.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// command is one subcommand: run gets the arguments after the command name; synopsis is what the
// top-level help lists for it (one line per form).
type command struct {
	name     string
	synopsis []string
	run      func(args []string, stdout, stderr io.Writer) error
}

// errUsage marks an error whose message is a usage problem (the flag package already printed it).
var errUsage = errors.New("usage")

// commands is the command table, in the order the help lists it; the help is generated from it.
func commands() []command {
	return []command{
		{"init", []string{"candor init --data DIR [--reviewer CARD]..."}, runInit},
		{"reviewer", []string{"candor reviewer add|remove|list|token --data DIR ..."}, runReviewer},
		{"category", []string{"candor category list|load --data DIR [FILE]"}, runCategory},
		{"info", []string{"candor info list|load --data DIR [FILE]"}, runInfo},
		{"serve", []string{serveSynopsis}, runServe},
		{"status", []string{"candor status --data DIR [--json]"}, runStatus},
		{"health", []string{"candor health --data DIR"}, runHealth},
		{"backup", []string{backupSynopsis}, runBackup},
		{"restore", []string{restoreSynopsis}, runRestore},
		{"witness", []string{"candor witness add|list|remove --data DIR ..."}, runWitness},
		{"retention", []string{retentionUsage}, runRetention},
		{"sync", strings.Split(syncSynopsis[:strings.Index(syncSynopsis, "\n\n")], "\n"), runSync},
		{"demo", []string{demoSynopsis}, runDemo},
		{"version", []string{"candor version"}, runVersion},
	}
}

// usage is the top-level help: every command's synopsis.
func usage(cmds []command) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, c := range cmds {
		for _, line := range c.synopsis {
			fmt.Fprintf(&b, "    %s\n", strings.TrimSpace(line))
		}
	}
	b.WriteString("\nRun \"candor COMMAND --help\" for the options of a command. See docs/admin.md.\n")
	return b.String()
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage(cmds))
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		names := make([]string, 0, len(cmds))
		for _, c := range cmds {
			names = append(names, c.name)
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "candor: error: unknown command %q\nhint: commands are %s\n", args[0], strings.Join(names, ", "))
		return 1
	}
	if err := cmds[i].run(args[1:], stdout, stderr); err != nil {
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
