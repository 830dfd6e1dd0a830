package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"candor/admin"
	"candor/crypto"
)

const reviewerUsage = `Usage:
    candor reviewer add    --data DIR CARD...          register reviewer cards (files)
    candor reviewer remove --data DIR [--force] FINGERPRINT
                                                       unregister a reviewer (refuses while cases
                                                       would be left that nobody else can read)
    candor reviewer list   --data DIR [--json]         list reviewers
    candor reviewer token  --data DIR FINGERPRINT [--json]
                                                       issue a new sync token + onion client-auth key

Compare every fingerprint with the reviewer over another channel (phone, in person) before adding
their card. Works while candor serve runs (through its control socket).
`

func runReviewer(args []string, stdout, stderr io.Writer) error {
	return subcommand("reviewer", reviewerUsage, args, stdout, stderr, map[string]func([]string, io.Writer, io.Writer) error{
		"add": reviewerAdd, "remove": reviewerRemove, "list": reviewerList, "token": reviewerToken,
	})
}

func reviewerAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reviewer add", "candor reviewer add --data DIR CARD...", stderr)
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, -1); err != nil {
		return err
	}
	if fs.NArg() == 0 {
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
		case errors.Is(err, admin.ErrReviewerExists):
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
	fs := newFlagSet("reviewer remove", "candor reviewer remove --data DIR [--force] FINGERPRINT", stderr)
	data := dataFlag(fs)
	force := fs.Bool("force", false, "remove even if cases would be left that no other reviewer can read")
	return adminCommand(fs, data, args, 1, func(a adminAPI) error {
		r, err := a.RemoveReviewer(fs.Arg(0), *force)
		if errors.Is(err, admin.ErrUnknownReviewer) || errors.Is(err, crypto.ErrInvalidFingerprint) {
			return withHint(err, "candor reviewer list --data DIR shows the registered fingerprints")
		}
		if errors.Is(err, admin.ErrWouldOrphan) {
			return withHint(err, "ask a reviewer of those cases to run candor-inbox share CASE FINGERPRINT for a colleague, push, and try again")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed reviewer %q (%s)\n", r.Name, r.Fingerprint)
		if r.Orphaned > 0 {
			fmt.Fprintf(stderr, "WARNING: %d case(s) now have no registered reviewer who can read them.\n", r.Orphaned)
		}
		fmt.Fprintln(stderr, "Their token and onion key no longer work. Cases already encrypted to them stay readable by them.")
		return nil
	})
}

func reviewerList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reviewer list", "candor reviewer list --data DIR [--json]", stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	return adminCommand(fs, data, args, 0, func(a adminAPI) error {
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
	})
}

func reviewerToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reviewer token", "candor reviewer token --data DIR FINGERPRINT [--json]", stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON {token, client_auth, server_key}")
	return adminCommand(fs, data, args, 1, func(a adminAPI) error {
		t, err := a.IssueToken(fs.Arg(0))
		if errors.Is(err, admin.ErrUnknownReviewer) || errors.Is(err, crypto.ErrInvalidFingerprint) {
			return withHint(err, "candor reviewer list --data DIR shows the registered fingerprints")
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "Shown once; any earlier token of this reviewer is revoked. Hand the token and client_auth "+
			"lines to the reviewer like a password, with the server_key fingerprint (not secret): their inbox "+
			"checks it on the first import.")
		if *asJSON {
			return printJSON(stdout, t)
		}
		fmt.Fprintf(stdout, "token: %s\nclient_auth: %s\nserver_key: %s\n", t.Token, t.ClientAuth, t.ServerKey)
		return nil
	})
}
