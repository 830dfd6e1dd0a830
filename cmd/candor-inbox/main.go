// Command candor-inbox is the reviewer's offline inbox: it imports the bundles that
// `candor sync pull` downloads, verifies them, decrypts reports on demand, and writes signed
// replies, status changes and holds into an outbox file for `candor sync push`.
//
// It links no networking code and is meant for a machine that never touches a network.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"candor/inbox"
)

const usage = `Usage:
    candor-inbox init   --home DIR [--name NAME] [--passphrase-file FILE]
    candor-inbox card   --home DIR
    candor-inbox import --home DIR BUNDLE
    candor-inbox list   --home DIR [--json]
    candor-inbox read   --home DIR CASE
    candor-inbox export --home DIR CASE DESTDIR [--raw] [--force]
    candor-inbox reply  --home DIR CASE (-m TEXT | --message-file FILE) [--file FILE]...
    candor-inbox status --home DIR CASE received|acknowledged|in-review|closed
    candor-inbox hold   --home DIR CASE on|off
    candor-inbox outbox --home DIR -o FILE

Every command takes --home DIR (default $CANDOR_INBOX_HOME) and, where a secret
key is needed (init, read, export, reply, status, hold, outbox), reads the
passphrase from the terminal or from the first line of --passphrase-file FILE.
CASE is a case ID or a unique prefix of at least 6 characters.

Examples:
    $ candor-inbox init --home ~/inbox --name "Alice Example"
    $ candor-inbox import --home ~/inbox /media/usb/bundle
    $ candor-inbox list --home ~/inbox
    $ candor-inbox read --home ~/inbox 3f2a9c
    $ candor-inbox export --home ~/inbox 3f2a9c ~/case-3f2a9c
    $ candor-inbox reply --home ~/inbox 3f2a9c -m "Thank you, we are looking into it."
    $ candor-inbox outbox --home ~/inbox -o /media/usb/outbox`

func main() { os.Exit(Main()) }

// Main runs the command named by os.Args and returns the exit code.
func Main() int {
	return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

type env struct {
	stdin          *os.File
	stdout, stderr io.Writer
	home           string
	passFile       string
	pass           []byte
}

type command func(e *env, fs *flag.FlagSet, args []string) error

var commands = map[string]command{
	"init": cmdInit, "card": cmdCard, "import": cmdImport, "list": cmdList, "read": cmdRead,
	"export": cmdExport, "reply": cmdReply, "status": cmdStatus, "hold": cmdHold, "outbox": cmdOutbox,
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return fail(stderr, fmt.Errorf("unknown command %q", args[0]), "run candor-inbox --help for the list of commands")
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("candor-inbox "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.home, "home", os.Getenv("CANDOR_INBOX_HOME"), "inbox directory")
	fs.StringVar(&e.passFile, "passphrase-file", "", "read the passphrase from the first line of FILE")
	err := cmd(e, fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if err != nil {
		return fail(stderr, err, hint(err))
	}
	return 0
}

func fail(stderr io.Writer, err error, hint string) int {
	fmt.Fprintf(stderr, "candor-inbox: error: %v\n", err)
	if hint != "" {
		fmt.Fprintf(stderr, "candor-inbox: hint: %s\n", hint)
	}
	return 1
}

func hint(err error) string {
	for _, h := range []struct {
		err  error
		hint string
	}{
		{inbox.ErrNotInitialised, "check --home, or create an inbox with candor-inbox init --home DIR"},
		{inbox.ErrExists, "this directory already holds an inbox; choose another --home"},
		{inbox.ErrPassphrase, "check the passphrase (or the file given with --passphrase-file)"},
		{inbox.ErrOtherServer, "this inbox trusts only the server of its first bundle; pull from that server or use another --home"},
		{inbox.ErrOtherReviewer, "the bundle was pulled with another reviewer's token; pull with your own"},
		{inbox.ErrFork, "do not ignore this: keep both bundles, tell the other reviewers, and ask the admin for an explanation"},
		{inbox.ErrRewrite, "do not ignore this: keep both bundles, tell the other reviewers, and ask the admin for an explanation"},
		{inbox.ErrForged, "do not ignore this: nothing was imported; keep the bundle, compare the author's fingerprint with the one they gave you, and tell the other reviewers"},
		{inbox.ErrNoProof, "pull again with candor sync pull --since 0"},
		{inbox.ErrBadBundle, "the bundle is damaged or incomplete; copy or pull it again"},
		{inbox.ErrNoCase, "run candor-inbox list to see the cases"},
		{inbox.ErrAmbiguous, "give more characters of the case ID"},
		{inbox.ErrFileExists, "use --force to overwrite, or export into a new directory"},
		{inbox.ErrNoCard, "import a newer bundle; the server sends the cards of every reviewer on a case"},
	} {
		if errors.Is(err, h.err) {
			return h.hint
		}
	}
	return ""
}

// parse parses flags that may appear before, between and after the positional arguments.
func parse(fs *flag.FlagSet, args []string, want int, what string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%v (see candor-inbox --help)", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if want >= 0 && len(pos) != want {
		return nil, fmt.Errorf("want %s (see candor-inbox --help)", what)
	}
	return pos, nil
}

func (e *env) config() (inbox.Config, error) {
	if e.home == "" {
		return inbox.Config{}, errors.New("no inbox directory: give --home DIR")
	}
	cfg := inbox.Config{Home: e.home, Passphrase: e.passphrase}
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = e.stderr
	}
	return cfg, nil
}

func (e *env) open() (*inbox.Inbox, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	return inbox.Open(cfg)
}

// passphrase reads the passphrase once, from --passphrase-file or the terminal.
func (e *env) passphrase() ([]byte, error) {
	if e.pass != nil {
		return e.pass, nil
	}
	if e.passFile != "" {
		b, err := os.ReadFile(e.passFile)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase file: %w", err)
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		e.pass = bytes.TrimSuffix(line, []byte("\r"))
	} else {
		p, err := e.prompt("Passphrase: ")
		if err != nil {
			return nil, err
		}
		e.pass = p
	}
	if len(e.pass) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return e.pass, nil
}

func (e *env) prompt(msg string) ([]byte, error) {
	fd := int(e.stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("no terminal to read the passphrase from; use --passphrase-file FILE")
	}
	fmt.Fprint(e.stderr, msg)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	return p, err
}

func cmdInit(e *env, fs *flag.FlagSet, args []string) error {
	name := fs.String("name", "Reviewer", "your name on the card")
	wf := fs.Int("work-factor", 0, "scrypt work factor (log2) for the key files; for tests")
	if _, err := parse(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	cfg.WorkFactor = *wf
	if e.passFile == "" {
		p1, err := e.prompt("New passphrase: ")
		if err != nil {
			return err
		}
		p2, err := e.prompt("Repeat the passphrase: ")
		if err != nil {
			return err
		}
		if !bytes.Equal(p1, p2) {
			return errors.New("the passphrases differ")
		}
		e.pass = p1
	}
	pass, err := e.passphrase()
	if err != nil {
		return err
	}
	card, err := inbox.Init(cfg, *name, pass)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created the inbox in %s\nfingerprint: %s\n", e.home, card.Fingerprint())
	fmt.Fprintf(e.stdout, "give %s to the admin and read the fingerprint to them out of band\n", inbox.CardFile)
	return nil
}

// parseOpen parses the command's arguments (parse) and opens the inbox; callers close it.
func (e *env) parseOpen(fs *flag.FlagSet, args []string, n int, what string) ([]string, *inbox.Inbox, error) {
	pos, err := parse(fs, args, n, what)
	if err != nil {
		return nil, nil, err
	}
	in, err := e.open()
	return pos, in, err
}

func cmdCard(e *env, fs *flag.FlagSet, args []string) error {
	_, in, err := e.parseOpen(fs, args, 0, "no arguments")
	if err != nil {
		return err
	}
	defer in.Close()
	card, err := in.Card()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s# fingerprint: %s\n", card.Marshal(), card.Fingerprint())
	return nil
}

func cmdImport(e *env, fs *flag.FlagSet, args []string) error {
	pos, in, err := e.parseOpen(fs, args, 1, "one BUNDLE file")
	if err != nil {
		return err
	}
	defer in.Close()
	res, err := in.Import(pos[0])
	if err != nil {
		return err
	}
	if res.FirstPin {
		fmt.Fprintf(e.stdout, "first import: this inbox now trusts the server that signed this bundle\n")
	}
	fmt.Fprintf(e.stdout, "imported: %d cases, %d blobs (%d new), %d log entries; log size %d, root %s\n",
		res.Cases, res.Blobs, res.NewBlobs, res.Entries, res.Size, res.Root)
	for _, id := range res.Deleted {
		fmt.Fprintf(e.stdout, "case %s was deleted (the deletion is in the case log)\n", id)
	}
	for _, id := range res.Missing {
		fmt.Fprintf(e.stderr, "candor-inbox: WARNING: case %s is missing from the server WITHOUT a logged "+
			"deletion: it may have been suppressed; tell the other reviewers\n", id)
	}
	return nil
}

func cmdList(e *env, fs *flag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	_, in, err := e.parseOpen(fs, args, 0, "no arguments")
	if err != nil {
		return err
	}
	defer in.Close()
	cases, err := in.List()
	if err != nil {
		return err
	}
	if *asJSON {
		if cases == nil {
			cases = []inbox.CaseInfo{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cases)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tSTATUS\tRECEIVED\tACK DUE\tFEEDBACK DUE\tMSGS\tNOTE")
	for _, c := range cases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", c.Case, c.Status, c.Received, c.AckDue, c.FeedbackDue,
			c.Messages, note(c))
	}
	return tw.Flush()
}

// note says what needs attention, and the last change made by anyone.
func note(c inbox.CaseInfo) string {
	var parts []string
	if c.Missing {
		parts = append(parts, "MISSING from the server without a logged deletion")
	}
	if c.Overdue {
		parts = append(parts, "OVERDUE")
	}
	if len(c.Holds) > 0 {
		parts = append(parts, "on hold")
	}
	for i := len(c.Events) - 1; i >= 0; i-- {
		ev := c.Events[i]
		if ev.Type == "status-changed" || ev.Type == "case-deleted" || ev.Type == "hold-changed" {
			parts = append(parts, fmt.Sprintf("last change: %s %s by %s on %s", ev.Type, ev.Value, ev.Actor, ev.Day))
			break
		}
	}
	return strings.Join(parts, "; ")
}

func cmdRead(e *env, fs *flag.FlagSet, args []string) error {
	pos, in, err := e.parseOpen(fs, args, 1, "one CASE")
	if err != nil {
		return err
	}
	defer in.Close()
	var buf bytes.Buffer // nothing is printed unless the whole case decrypts
	if err := in.Read(pos[0], &buf); err != nil {
		return err
	}
	_, err = e.stdout.Write(buf.Bytes())
	return err
}

func cmdExport(e *env, fs *flag.FlagSet, args []string) error {
	raw := fs.Bool("raw", false, "write the case's blobs as standard .age files")
	force := fs.Bool("force", false, "overwrite existing files")
	pos, in, err := e.parseOpen(fs, args, 2, "CASE and DESTDIR")
	if err != nil {
		return err
	}
	defer in.Close()
	names, err := in.Export(pos[0], pos[1], inbox.ExportOptions{Raw: *raw, Force: *force})
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func cmdReply(e *env, fs *flag.FlagSet, args []string) error {
	msg := fs.String("m", "", "the reply text")
	msgFile := fs.String("message-file", "", "read the reply text from FILE")
	var files fileList
	fs.Var(&files, "file", "attach FILE (repeatable)")
	pos, err := parse(fs, args, 1, "one CASE")
	if err != nil {
		return err
	}
	text, err := replyText(*msg, *msgFile)
	if err != nil {
		return err
	}
	in, err := e.open()
	if err != nil {
		return err
	}
	defer in.Close()
	var atts []inbox.Attachment
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return err
		}
		atts = append(atts, inbox.FileAttachment(f))
	}
	if err := in.Reply(pos[0], text, atts); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "reply encrypted, signed and queued; write the outbox with candor-inbox outbox")
	return nil
}

func replyText(msg, file string) (string, error) {
	switch {
	case (msg == "") == (file == ""):
		return "", errors.New("give exactly one of -m TEXT and --message-file FILE")
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), err
	}
	return msg, nil
}

func cmdStatus(e *env, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 2, "CASE and one of "+strings.Join(inbox.Statuses, ", "))
	if err != nil {
		return err
	}
	in, err := e.open()
	if err != nil {
		return err
	}
	defer in.Close()
	if err := in.SetStatus(pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "status change signed and queued")
	return nil
}

func cmdHold(e *env, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 2, "CASE and on or off")
	if err != nil {
		return err
	}
	if pos[1] != "on" && pos[1] != "off" {
		return fmt.Errorf("want on or off, not %q", pos[1])
	}
	in, err := e.open()
	if err != nil {
		return err
	}
	defer in.Close()
	if err := in.Hold(pos[0], pos[1] == "on"); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "hold signed and queued")
	return nil
}

func cmdOutbox(e *env, fs *flag.FlagSet, args []string) error {
	out := fs.String("o", "", "write the outbox to FILE")
	if _, err := parse(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("give the output file with -o FILE")
	}
	if *out == "-" {
		return errors.New("the outbox is binary: refusing to write it to standard output; give -o FILE")
	}
	in, err := e.open()
	if err != nil {
		return err
	}
	defer in.Close()
	n, err := in.Outbox(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %d envelopes to %s; carry it over and run candor sync push\n", n, *out)
	return nil
}
