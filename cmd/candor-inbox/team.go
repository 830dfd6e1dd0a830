package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"candor/inbox"
	"candor/internal/atomicfile"
	"candor/internal/day"
	"candor/internal/envelope"
)

// The commands of team case work (DESIGN §11–12).

func cmdNote(e *env, fs *flag.FlagSet, args []string) error {
	msg := fs.String("m", "", "the note text")
	msgFile := fs.String("message-file", "", "read the note text from FILE")
	pos, err := parse(fs, args, 1, "one CASE")
	if err != nil {
		return err
	}
	text, err := messageText(*msg, *msgFile, `candor-inbox note --home DIR CASE -m "Called the IT department; logs kept until June."`)
	if err != nil {
		return err
	}
	return e.change(func(in *inbox.Inbox) error { return in.Note(pos[0], text) },
		"note encrypted to the case's reviewers only (not the reporter), signed and queued")
}

func cmdAssign(e *env, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 2, "CASE and FINGERPRINT, me or none")
	if err != nil {
		return err
	}
	return e.change(func(in *inbox.Inbox) error { return in.Assign(pos[0], pos[1]) },
		"assignment signed and queued")
}

func cmdShare(e *env, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 2, "CASE and the FINGERPRINT of a registered reviewer")
	if err != nil {
		return err
	}
	return e.change(func(in *inbox.Inbox) error { return in.Share(pos[0], pos[1]) },
		"case re-wrapped for the new reviewer, signed and queued; write the outbox with candor-inbox outbox")
}

func cmdDelete(e *env, fs *flag.FlagSet, args []string) error {
	reason := fs.String("reason", "", "why the case is deleted early (spam, clearly irrelevant); sealed to the reviewers")
	pos, err := parse(fs, args, 1, "one CASE")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return withHint("an early deletion needs --reason TEXT",
			`for example: candor-inbox delete --home DIR CASE --reason "spam: advertising, no report"`)
	}
	return e.change(func(in *inbox.Inbox) error { return in.Delete(pos[0], *reason) },
		"deletion signed and queued: after the push the server deletes the case and every inbox purges it")
}

func cmdIntake(e *env, fs *flag.FlagSet, args []string) error {
	category := fs.String("category", "", "the category ID (default: the installation's default category)")
	msg := fs.String("m", "", "the transcript or minutes")
	msgFile := fs.String("message-file", "", "read the transcript from FILE")
	var files, reviewers fileList
	fs.Var(&files, "file", "attach FILE (repeatable)")
	fs.Var(&reviewers, "reviewer", "a reviewer the reporter chose (repeatable; default: every registered reviewer)")
	if _, err := parse(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	text, err := messageText(*msg, *msgFile, `candor-inbox intake --home DIR -m "Phone call on 3 March: ..."`)
	if err != nil {
		return err
	}
	atts, err := attachments(files)
	if err != nil {
		return err
	}
	in, err := e.open()
	if err != nil {
		return err
	}
	defer in.Close()
	res, err := in.Intake(inbox.IntakeOptions{Category: *category, Text: text, Files: atts, Reviewers: reviewers})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "case %s recorded, signed and queued; the server creates it at the next push\n", res.Case)
	// Receipt redacts itself under fmt verbs: print its String, once, here only.
	fmt.Fprintf(e.stdout, "receipt code for the reporter (shown once, stored nowhere; hand it over in person):\n\n    %s\n\n", res.Receipt.String())
	fmt.Fprintln(e.stdout, "with it the reporter reads this record on the case page, agrees with it or asks for a correction")
	return nil
}

func cmdStats(e *env, fs *flag.FlagSet, args []string) error {
	from := fs.String("from", "", "only cases received on or after DAY (YYYY-MM-DD)")
	to := fs.String("to", "", "only cases received on or before DAY (YYYY-MM-DD)")
	asJSON := fs.Bool("json", false, "print JSON")
	asCSV := fs.Bool("csv", false, "print CSV")
	if _, err := parse(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	if *asJSON && *asCSV {
		return withHint("give at most one of --json and --csv", "candor-inbox stats --home DIR --csv")
	}
	var opt inbox.StatsOptions
	for _, d := range []struct {
		s   string
		out *day.Day
	}{{*from, &opt.From}, {*to, &opt.To}} {
		if d.s == "" {
			continue
		}
		v, err := day.Parse(d.s)
		if err != nil {
			return withHint(fmt.Sprintf("not a day: %.32q", d.s), "write days as YYYY-MM-DD, e.g. --from 2026-01-01")
		}
		*d.out = v
	}
	var s *inbox.Stats
	if err := e.with(func(in *inbox.Inbox) (err error) { s, err = in.Stats(opt); return err }); err != nil {
		return err
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	case *asCSV:
		return s.WriteCSV(e.stdout)
	}
	s.WriteText(e.stdout)
	return nil
}

func cmdCasefile(e *env, fs *flag.FlagSet, args []string) error {
	out := fs.String("o", "", "write the case file to FILE.html")
	force := fs.Bool("force", false, "overwrite an existing file")
	pos, err := parse(fs, args, 1, "one CASE")
	if err != nil {
		return err
	}
	if *out == "" || *out == "-" {
		return withHint("give the output file with -o FILE.html", "candor-inbox casefile --home DIR CASE -o case.html")
	}
	if _, err := os.Lstat(*out); err == nil && !*force {
		return withHint("file exists: "+*out, "use --force to overwrite, or choose another name")
	}
	// Built in memory first: a case file that fails half-way leaves no decrypted part on disk,
	// not even in a temporary file.
	var buf bytes.Buffer
	if err := e.with(func(in *inbox.Inbox) error { return in.Casefile(pos[0], &buf) }); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: it holds the decrypted case; keep it as carefully as the case\n", *out)
	return nil
}

// messageText returns the text of -m or --message-file (exactly one must be given).
func messageText(msg, file, example string) (string, error) {
	switch {
	case (msg == "") == (file == ""):
		return "", withHint("give exactly one of -m TEXT and --message-file FILE", "for example: "+example)
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), err
	}
	return msg, nil
}

func attachments(files []string) ([]inbox.Attachment, error) {
	var atts []inbox.Attachment
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
		atts = append(atts, inbox.FileAttachment(f))
	}
	return atts, nil
}

// closeOrSet applies a status command: closing needs --outcome, other statuses refuse one.
func closeOrSet(in *inbox.Inbox, c, status, outcome string) error {
	switch {
	case status == envelope.StatusClosed:
		return in.CloseCase(c, outcome)
	case outcome != "":
		return withHint("--outcome belongs to closing only", "candor-inbox status --home DIR CASE closed --outcome referred")
	}
	return in.SetStatus(c, status)
}

// teamHints are the next steps for the errors of team work.
var teamHints = []struct {
	err  error
	hint string
}{
	{envelope.ErrNoOutcome, "closing needs an outcome: candor-inbox status --home DIR CASE closed --outcome " +
		strings.Join(envelope.Outcomes(), "|")},
	{envelope.ErrUnknownOutcome, "for example: --outcome " + envelope.OutcomeSubstantiated},
	{inbox.ErrNotReviewer, "give the fingerprint of a reviewer on the case (assign) or registered on the server (share, intake); candor-inbox read shows the case's reviewers"},
	{inbox.ErrAlreadyOnCase, "that reviewer can read the case already"},
	{inbox.ErrNoReason, `say why, e.g. --reason "spam: advertising, no report"`},
	{inbox.ErrDeleted, "the case was deleted; run candor-inbox list to see the others"},
	{inbox.ErrNoInstallation, "pull a new bundle with candor sync pull and import it"},
	{inbox.ErrTooLargeToShare, "ask the admin to add the reviewer to the case's recipients another way, or delete old files"},
}

func lead(fp string) string {
	if fp == "" {
		return "-"
	}
	return fp[:min(len(fp), 9)]
}
