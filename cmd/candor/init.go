package main

import (
	"candor/crypto"
	"candor/installation"
	"fmt"
	"io"
	"os"
	"strings"
)

// fileList is a repeatable flag of file names.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func runInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("init", "candor init --data DIR [--reviewer CARD]...", stderr)
	data := fs.String("data", os.Getenv("CANDOR_DATA"), "data `directory` (created if missing; default $CANDOR_DATA)")
	var cards fileList
	fs.Var(&cards, "reviewer", "reviewer card `file` to register (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, 0); err != nil {
		return err
	}
	var opts installation.InitOptions
	for _, f := range cards {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		opts.Reviewers = append(opts.Reviewers, b)
	}
	st, err := installation.OpenStore(*data, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := installation.Init(st, opts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "initialised %s with %d reviewer(s)\n", *data, len(cards))
	if fp, err := installation.ServerKeyFingerprint(st); err == nil {
		fmt.Fprintf(stdout, "server key: %s\n", fp)
	}
	for _, b := range opts.Reviewers {
		if c, err := crypto.ParseCard(b); err == nil { // Init registered it, so it parses
			fmt.Fprintf(stdout, "registered reviewer %q\nfingerprint: %s\n", c.Name(), c.Fingerprint())
		}
	}
	if len(cards) > 0 {
		fmt.Fprintln(stderr, "Check each fingerprint with its reviewer over another channel, then issue their token: candor reviewer token")
	}
	return nil
}
