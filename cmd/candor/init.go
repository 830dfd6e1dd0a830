package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"candor/server"
)

func init() {
	extraCommands["init"] = command{run: runInit}
}

// fileList is a repeatable flag of file names.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

func runInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("init", "candor init --data DIR [--reviewer CARD]...", stderr)
	data := fs.String("data", "", "data `directory` (created if missing)")
	var cards fileList
	fs.Var(&cards, "reviewer", "reviewer card `file` to register (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	var opts server.InitOptions
	for _, f := range cards {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		opts.Reviewers = append(opts.Reviewers, b)
	}
	st, err := server.OpenStore(*data, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := server.Init(st, opts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "initialised %s with %d reviewer(s)\n", *data, len(cards))
	return nil
}
