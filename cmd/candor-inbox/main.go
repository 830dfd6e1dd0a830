// Command candor-inbox is the reviewer's offline inbox: it imports the bundles that
// `candor sync pull` downloads, verifies them, decrypts reports on demand, and writes signed
// replies, status changes and holds into an outbox file for `candor sync push`.
//
// It links no networking code and is meant for a machine that never touches a network.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"candor/crypto"
	"candor/inbox"
	"candor/internal/bundle"
	"candor/internal/envelope"
	"candor/internal/passfile"
	"candor/internal/progress"
)

// command is one entry of the command table: its name, its arguments for the usage text, and what
// it runs. The table is built by commands; nothing is registered at init time.
type command struct {
	name string
	args string // after "candor-inbox NAME", for the usage text
	run  func(e *env, fs *flag.FlagSet, args []string) error
}

// commands returns the command table, in the order the usage lists it.
func commands() []command {
	return []command{
		{"init", "--home DIR [--name NAME] [--passphrase-file FILE]", cmdInit},
		{"card", "--home DIR", cmdCard},
		{"import", "--home DIR [--server-key FINGERPRINT] BUNDLE", cmdImport},
		{"list", "--home DIR [--status S] [--assignee FP|me|none] [--overdue] [--search TEXT] [--json]", cmdList},
		{"read", "--home DIR CASE", cmdRead},
		{"export", "--home DIR CASE DESTDIR [--raw] [--force]", cmdExport},
		{"reply", "--home DIR CASE (-m TEXT | --message-file FILE) [--file FILE]... [--feedback]", cmdReply},
		{"status", "--home DIR CASE " + strings.Join(envelope.Statuses(), "|") + " [--outcome " +
			strings.Join(envelope.Outcomes(), "|") + "]", cmdStatus},
		{"hold", "--home DIR CASE on|off", cmdHold},
		{"note", "--home DIR CASE (-m TEXT | --message-file FILE)", cmdNote},
		{"assign", "--home DIR CASE FINGERPRINT|me|none", cmdAssign},
		{"share", "--home DIR CASE FINGERPRINT", cmdShare},
		{"delete", "--home DIR CASE --reason TEXT", cmdDelete},
		{"intake", "--home DIR [--category C] [--reviewer FP]... (-m TEXT | --message-file FILE) [--file FILE]...", cmdIntake},
		{"stats", "--home DIR [--from DAY] [--to DAY] [--json | --csv]", cmdStats},
		{"casefile", "--home DIR CASE -o FILE.html [--force]", cmdCasefile},
		{"outbox", "--home DIR -o FILE", cmdOutbox},
		{"witness", "add --home DIR --key VKEY [--quorum N] | list --home DIR [--json]", cmdWitness},
	}
}

const usageNotes = `
Every command takes --home DIR (default $CANDOR_INBOX_HOME) and, where a secret
key is needed (init, the first import, read, export, reply, status, hold, note,
assign, share, delete, intake, casefile, outbox, list --search), reads the
passphrase from the terminal or from --passphrase-file FILE (the file holds
only the passphrase, on one line). A new passphrase needs at least %d characters.
CASE is a case ID or a unique prefix of at least 6 characters.

Examples:
    $ candor-inbox init --home ~/inbox --name "Alice Example"
    $ candor-inbox import --home ~/inbox /media/usb/bundle
    $ candor-inbox list --home ~/inbox
    $ candor-inbox read --home ~/inbox 3f2a9c
    $ candor-inbox export --home ~/inbox 3f2a9c ~/case-3f2a9c
    $ candor-inbox reply --home ~/inbox 3f2a9c -m "Thank you, we are looking into it."
    $ candor-inbox assign --home ~/inbox 3f2a9c me
    $ candor-inbox note --home ~/inbox 3f2a9c -m "Asked IT to keep the logs."
    $ candor-inbox reply --home ~/inbox 3f2a9c --feedback -m "We have found ... and will ..."
    $ candor-inbox status --home ~/inbox 3f2a9c closed --outcome substantiated
    $ candor-inbox outbox --home ~/inbox -o /media/usb/outbox`

// usage is the --help text, generated from the command table.
func usage(cmds []command) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "    candor-inbox %-*s %s\n", width, c.name, c.args)
	}
	fmt.Fprintf(&b, usageNotes, inbox.MinPassphraseLen)
	return b.String()
}

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

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usage(cmds))
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		return fail(stderr, fmt.Errorf("unknown command %q", args[0]), "run candor-inbox --help for the list of commands")
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("candor-inbox "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.home, "home", os.Getenv("CANDOR_INBOX_HOME"), "inbox directory")
	fs.StringVar(&e.passFile, "passphrase-file", "", "read the passphrase from FILE")
	err := cmds[i].run(e, fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, usage(cmds))
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

// hinted is an error of this command line with the next step to take.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// withHint returns the error text msg with the next step hint.
func withHint(msg, hint string) error { return &hinted{errors.New(msg), hint} }

const doNotIgnore = "do not ignore this: keep both bundles, tell the other reviewers, and ask the admin for an explanation"

// hint returns the next step for err, or "" if there is none to suggest.
func hint(err error) string {
	if h, ok := errors.AsType[*hinted](err); ok {
		return h.hint
	}
	for _, h := range teamHints {
		if errors.Is(err, h.err) {
			return h.hint
		}
	}
	for _, h := range []struct {
		err  error
		hint string
	}{
		{inbox.ErrNotInitialised, "check --home, or create an inbox with candor-inbox init --home DIR"},
		{inbox.ErrExists, "this directory already holds an inbox; choose another --home"},
		{inbox.ErrPassphrase, "check the passphrase (or the file given with --passphrase-file)"},
		{inbox.ErrWeakPassphrase, fmt.Sprintf("choose a passphrase of at least %d characters, e.g. five random words", inbox.MinPassphraseLen)},
		{inbox.ErrOtherServer, "this inbox trusts only the server of its first bundle; pull from that server or use another --home"},
		{inbox.ErrOtherReviewer, "the bundle was pulled with another reviewer's token; pull with your own"},
		{inbox.ErrFork, doNotIgnore},
		{inbox.ErrRewrite, doNotIgnore},
		{inbox.ErrRollback, doNotIgnore},
		{inbox.ErrWithheld, doNotIgnore},
		{inbox.ErrRecipients, "do not ignore this: nothing was imported, and your replies stay sealed to the committed reviewers and reporter; tell the other reviewers and ask the admin"},
		{inbox.ErrUnwitnessed, "pull again later; if it persists, ask the admin for candor status (its alarms) and the witnesses' operators"},
		{inbox.ErrOldBundle, "nothing to do: import the newest bundle candor sync pull wrote"},
		{inbox.ErrWitness, "copy the witness's verifier key exactly as its operator gave it (name+id+key)"},
		{inbox.ErrForged, "do not ignore this: nothing was imported; keep the bundle, compare the author's fingerprint with the one they gave you, and tell the other reviewers"},
		{inbox.ErrNoProof, "pull again with candor sync pull --since 0"},
		{inbox.ErrOutbox, "carry it to the online machine and run candor sync push OUTBOX there; import the file candor sync pull -o wrote"},
		{bundle.ErrVersion, "this file is not a Candor bundle: import the file that candor sync pull -o wrote"},
		{inbox.ErrBadBundle, "the bundle is damaged or incomplete; copy or pull it again"},
		{inbox.ErrNoCase, "run candor-inbox list to see the cases"},
		{inbox.ErrAmbiguous, "give more characters of the case ID"},
		{inbox.ErrFileExists, "use --force to overwrite, or export into a new directory"},
		{inbox.ErrNoCard, "import a newer bundle; the server sends the cards of every reviewer on a case"},
		{envelope.ErrUnknownStatus, "for example: candor-inbox status --home DIR CASE " + envelope.StatusInReview},
		{passfile.ErrEmpty, "write the passphrase into the file, on one line"},
		{passfile.ErrLines, "write only the passphrase into the file, on one line"},
		{passfile.ErrTooLarge, "check the path given with --passphrase-file"},
		{os.ErrNotExist, "check the path"},
		{os.ErrPermission, "check the file's permissions, or run as the user who owns the inbox"},
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
			return nil, &hinted{err, "run " + fs.Name() + " --help"}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if want >= 0 && len(pos) != want {
		return nil, withHint("want "+what, "run "+fs.Name()+" --help")
	}
	return pos, nil
}

func (e *env) config() (inbox.Config, error) {
	if e.home == "" {
		return inbox.Config{}, withHint("no inbox directory: give --home DIR",
			"or set CANDOR_INBOX_HOME; candor-inbox init --home DIR creates one")
	}
	return inbox.Config{Home: e.home, Passphrase: e.passphrase, Progress: progress.Terminal(e.stderr)}, nil
}

func (e *env) open() (*inbox.Inbox, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	return inbox.Open(cfg)
}

// passphrase reads the passphrase once, from --passphrase-file (internal/passfile) or the terminal.
func (e *env) passphrase() ([]byte, error) {
	if e.pass != nil {
		return e.pass, nil
	}
	if e.passFile != "" {
		p, err := passfile.Read(e.passFile)
		if err != nil {
			return nil, err
		}
		e.pass = p
		return p, nil
	}
	p, err := e.prompt("Passphrase: ")
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, withHint("empty passphrase", "type the passphrase you chose at candor-inbox init")
	}
	e.pass = p
	return p, nil
}

func (e *env) prompt(msg string) ([]byte, error) {
	fd := int(e.stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, withHint("no terminal to read the passphrase from; use --passphrase-file FILE",
			"put the passphrase, on one line, in a file only you can read, and give --passphrase-file FILE")
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
			return withHint("the passphrases differ", "run candor-inbox init again and type the same passphrase twice")
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

// with opens the inbox, runs fn on it and closes it.
func (e *env) with(fn func(*inbox.Inbox) error) error {
	in, err := e.open()
	if err != nil {
		return err
	}
	defer in.Close()
	return fn(in)
}

// change runs fn on the inbox (with) and, once fn has signed and queued its change, prints done:
// the end every command that changes a case shares.
func (e *env) change(fn func(*inbox.Inbox) error, done string) error {
	if err := e.with(fn); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, done)
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
	serverKey := fs.String("server-key", "", "the server key's fingerprint, as the admin gave it (needed on the first import)")
	pos, in, err := e.parseOpen(fs, args, 1, "one BUNDLE file")
	if err != nil {
		return err
	}
	defer in.Close()
	if *serverKey != "" {
		if err := in.TrustServer(*serverKey); err != nil {
			return err
		}
	}
	res, err := in.Import(pos[0])
	if ue, ok := errors.AsType[*inbox.UnconfirmedServerError](err); ok {
		if err = e.confirmServer(in, ue); err == nil {
			res, err = in.Import(pos[0])
		}
	}
	if err != nil {
		return err
	}
	printImport(e, res)
	return nil
}

// confirmServer asks the reviewer at a terminal to type the server key's fingerprint the admin
// gave them, and trusts it if it is the bundle's. Without a terminal it refuses, naming the
// fingerprint and the --server-key option: the first import never trusts a server silently.
func (e *env) confirmServer(in *inbox.Inbox, ue *inbox.UnconfirmedServerError) error {
	const ask = "compare it with the server key fingerprint your admin gave you with your token (candor reviewer token prints it as server_key)"
	if !term.IsTerminal(int(e.stdin.Fd())) {
		return withHint(fmt.Sprintf("first import: this bundle is signed by server key %s (log %s); this inbox trusts no server yet",
			ue.Fingerprint, ue.Origin), ask+"; if it is the same, run the import again with --server-key "+ue.Fingerprint)
	}
	fmt.Fprintf(e.stderr, "\nFirst import: this bundle is signed by the server key\n\n    %s\n\n(log %s). Please %s.\n"+
		"Type that fingerprint to trust this server from now on (Enter alone stops): ", ue.Fingerprint, ue.Origin, ask)
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 256)).ReadString('\n')
	if err != nil && line == "" {
		return withHint("first import stopped: no fingerprint typed", "run the import again once you have the fingerprint from your admin")
	}
	typed, err := crypto.ParseFingerprint(strings.TrimSpace(line))
	if strings.TrimSpace(line) == "" || err != nil || typed != ue.Fingerprint {
		return withHint(fmt.Sprintf("first import stopped: the fingerprint typed is not the bundle's server key %s; nothing imported", ue.Fingerprint),
			"if your admin's fingerprint differs, this bundle did not come from your server: do not import it and tell the admin and the other reviewers")
	}
	return in.TrustServer(typed)
}

func cmdList(e *env, fs *flag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	var opt inbox.ListOptions
	fs.StringVar(&opt.Status, "status", "", "only cases with this status")
	fs.StringVar(&opt.Assignee, "assignee", "", "only cases led by FP, me, or none")
	fs.BoolVar(&opt.Overdue, "overdue", false, "only overdue cases")
	fs.StringVar(&opt.Search, "search", "", "only cases whose decrypted text holds TEXT (decrypted in memory)")
	_, in, err := e.parseOpen(fs, args, 0, "no arguments")
	if err != nil {
		return err
	}
	defer in.Close()
	cases, err := in.ListFiltered(opt)
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
	fmt.Fprintln(tw, "CASE\tSTATUS\tRECEIVED\tACK DUE\tFEEDBACK DUE\tMSGS\tLEAD\tNOTE")
	for _, c := range cases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Case, c.Status, c.Received, c.AckDue, c.FeedbackDue,
			c.Messages, lead(c.Assignee), note(c))
	}
	return tw.Flush()
}

// note says what needs attention, and the last change made by anyone.
func note(c inbox.CaseInfo) string {
	var parts []string
	if c.Missing {
		parts = append(parts, "MISSING from the server without a logged deletion")
	}
	if c.Lost > 0 {
		parts = append(parts, fmt.Sprintf("%d entries LOST in a restore", c.Lost))
	}
	if c.Overdue {
		parts = append(parts, "OVERDUE")
	}
	if len(c.Holds) > 0 {
		parts = append(parts, "on hold")
	}
	if c.FeedbackGiven != "" {
		parts = append(parts, "feedback given "+c.FeedbackGiven)
	}
	if c.Outcome != "" {
		parts = append(parts, "outcome "+c.Outcome)
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
	feedback := fs.Bool("feedback", false, "this reply is the Directive's feedback (stops the feedback clock)")
	msg := fs.String("m", "", "the reply text")
	msgFile := fs.String("message-file", "", "read the reply text from FILE")
	var files fileList
	fs.Var(&files, "file", "attach FILE (repeatable)")
	pos, err := parse(fs, args, 1, "one CASE")
	if err != nil {
		return err
	}
	text, err := messageText(*msg, *msgFile, `candor-inbox reply --home DIR CASE -m "Thank you, we are looking into it."`)
	if err != nil {
		return err
	}
	atts, err := attachments(files)
	if err != nil {
		return err
	}
	return e.change(func(in *inbox.Inbox) error {
		if *feedback {
			return in.Feedback(pos[0], text, atts)
		}
		return in.Reply(pos[0], text, atts)
	}, "reply encrypted, signed and queued; write the outbox with candor-inbox outbox")
}

func cmdStatus(e *env, fs *flag.FlagSet, args []string) error {
	outcome := fs.String("outcome", "", "closing only: "+strings.Join(envelope.Outcomes(), ", "))
	pos, err := parse(fs, args, 2, "CASE and one of "+strings.Join(envelope.Statuses(), ", "))
	if err != nil {
		return err
	}
	return e.change(func(in *inbox.Inbox) error { return closeOrSet(in, pos[0], pos[1], *outcome) },
		"status change signed and queued")
}

func cmdHold(e *env, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 2, "CASE and on or off")
	if err != nil {
		return err
	}
	if pos[1] != "on" && pos[1] != "off" {
		return withHint(fmt.Sprintf("want on or off, not %.32q", pos[1]), "candor-inbox hold --home DIR CASE on")
	}
	return e.change(func(in *inbox.Inbox) error { return in.Hold(pos[0], pos[1] == "on") },
		"hold signed and queued")
}

func cmdOutbox(e *env, fs *flag.FlagSet, args []string) error {
	out := fs.String("o", "", "write the outbox to FILE")
	if _, err := parse(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	if *out == "" {
		return withHint("give the output file with -o FILE", "candor-inbox outbox --home DIR -o /media/usb/outbox")
	}
	if *out == "-" {
		return withHint("the outbox is binary: refusing to write it to standard output",
			"give a file name with -o FILE, e.g. on the USB stick you carry to the online machine")
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
