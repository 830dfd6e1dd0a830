package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"candor/crypto"
	"candor/server"
)

func init() {
	extraCommands["reviewer"] = command{run: runReviewer}
}

const reviewerUsage = `Usage:
    candor reviewer add    --data DIR CARD...          register reviewer cards (files)
    candor reviewer remove --data DIR FINGERPRINT      unregister a reviewer
    candor reviewer list   --data DIR [--json]         list reviewers
    candor reviewer token  --data DIR FINGERPRINT [--json]
                                                       issue a new sync token + onion client-auth key

Compare every fingerprint with the reviewer over another channel (phone, in person) before adding
their card. Works while candor serve runs (through its control socket).
`

func runReviewer(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, reviewerUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub := map[string]func([]string, io.Writer, io.Writer) error{
		"add": reviewerAdd, "remove": reviewerRemove, "list": reviewerList, "token": reviewerToken,
	}[args[0]]
	if sub == nil {
		fmt.Fprint(stderr, reviewerUsage)
		return fmt.Errorf("unknown reviewer command %q", args[0])
	}
	return sub(args[1:], stdout, stderr)
}

func reviewerAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reviewer add", "candor reviewer add --data DIR CARD...", stderr)
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, -1); err != nil || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	a, done, err := openAdmin(*data)
	if err != nil {
		return err
	}
	defer done()
	for _, f := range fs.Args() {
		card, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		r, err := a.AddReviewer(card)
		switch {
		case errors.Is(err, server.ErrReviewerExists):
			return withHint(fmt.Errorf("%s: %w", f, err), "a card can be registered once; candor reviewer list shows who is registered")
		case errors.Is(err, crypto.ErrInvalidCard) || errors.Is(err, crypto.ErrSignature):
			return withHint(fmt.Errorf("%s: %w", f, err), "ask the reviewer for the output of candor-inbox card, unchanged")
		case err != nil:
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintf(stdout, "added reviewer %q\nfingerprint: %s\n", r.Name, r.Fingerprint)
	}
	fmt.Fprintln(stderr, "Check each fingerprint with its reviewer over another channel, then issue their token: candor reviewer token")
	return nil
}

func reviewerRemove(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reviewer remove", "candor reviewer remove --data DIR FINGERPRINT", stderr)
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, done, err := adminFor(fs, *data, 1)
	if err != nil {
		return err
	}
	defer done()
	r, err := a.RemoveReviewer(fs.Arg(0))
	if errors.Is(err, server.ErrUnknownReviewer) || errors.Is(err, crypto.ErrInvalidFingerprint) {
		return withHint(err, "candor reviewer list --data DIR shows the registered fingerprints")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed reviewer %q (%s)\n", r.Name, r.Fingerprint)
	fmt.Fprintln(stderr, "Their token and onion key no longer work. Cases already encrypted to them stay readable by them.")
	return nil
}

func reviewerList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reviewer list", "candor reviewer list --data DIR [--json]", stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, done, err := adminFor(fs, *data, 0)
	if err != nil {
		return err
	}
	defer done()
	rs, err := a.Reviewers()
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, rs)
	}
	for _, r := range rs {
		token := "no token"
		if r.Token {
			token = "token issued"
		}
		fmt.Fprintf(stdout, "%s  %-30s added %s, %s\n", r.Fingerprint, r.Name, r.Added, token)
	}
	if len(rs) == 0 {
		fmt.Fprintln(stderr, "no reviewers (add one: candor reviewer add --data DIR CARD)")
	}
	return nil
}

func reviewerToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reviewer token", "candor reviewer token --data DIR FINGERPRINT [--json]", stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON {token, client_auth}")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, done, err := adminFor(fs, *data, 1)
	if err != nil {
		return err
	}
	defer done()
	t, err := a.IssueToken(fs.Arg(0))
	if errors.Is(err, server.ErrUnknownReviewer) || errors.Is(err, crypto.ErrInvalidFingerprint) {
		return withHint(err, "candor reviewer list --data DIR shows the registered fingerprints")
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "Shown once; any earlier token of this reviewer is revoked. Hand both lines to the reviewer like a password.")
	if *asJSON {
		return printJSON(stdout, t)
	}
	fmt.Fprintf(stdout, "token: %s\nclient_auth: %s\n", t.Token, t.ClientAuth)
	return nil
}
