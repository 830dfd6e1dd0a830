package main

import (
	"fmt"
	"io"
	"strings"
)

const witnessUsage = `Usage:
    candor witness add    --data DIR --url URL --key VKEY   ask a C2SP tlog-witness to cosign the log
    candor witness list   --data DIR [--json]              the witnesses and how far each cosigned
    candor witness remove --data DIR --key VKEY|NAME       stop asking a witness

URL is the witness's submission prefix (http://host:port, or http://ADDRESS.onion, reached through
the server's tor); VKEY its cosignature verifier key (litewitness prints it as vkey=). The witness's
operator registers this log with the values candor status prints as log origin and log key
(witnessctl add-log -origin ORIGIN; witnessctl add-key -origin ORIGIN -key KEY). Every change is
logged. Works while candor serve runs (through its control socket).
`

func runWitness(args []string, stdout, stderr io.Writer) error {
	cmd := func(sub string) func([]string, io.Writer, io.Writer) error {
		return func(args []string, stdout, stderr io.Writer) error { return witnessCommand(sub, args, stdout, stderr) }
	}
	return subcommand("witness", witnessUsage, args, stdout, stderr, map[string]func([]string, io.Writer, io.Writer) error{
		"add": cmd("add"), "list": cmd("list"), "remove": cmd("remove"),
	})
}

// witnessCommand runs candor witness add, list or remove (sub); they share their flags.
func witnessCommand(sub string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("witness "+sub, "candor witness "+sub+" --data DIR ...", stderr)
	data := dataFlag(fs)
	url := fs.String("url", "", "the witness's submission URL")
	key := fs.String("key", "", "the witness's verifier key (remove: or its name)")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	return adminCommand(fs, data, args, 0, func(a adminAPI) error {
		switch sub {
		case "add":
			if *url == "" || *key == "" {
				return withHint(fmt.Errorf("witness add needs --url and --key"), "ask the witness's operator for both")
			}
			w, err := a.AddWitness(*url, *key)
			if err != nil {
				return withHint(err, "copy the URL and the key exactly as the witness's operator gave them")
			}
			fmt.Fprintf(stdout, "added witness %s at %s\n", w.Name, w.URL)
			fmt.Fprintln(stderr, "Give its operator the log origin and log key that candor status prints.")
			return nil
		case "remove":
			if *key == "" {
				return withHint(fmt.Errorf("witness remove needs --key"), "candor witness list shows the keys")
			}
			if err := a.RemoveWitness(*key); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed witness %s\n", *key)
			return nil
		}
		ws, err := a.Witnesses()
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, ws)
		}
		for _, w := range ws {
			fmt.Fprintf(stdout, "%s\t%s\tcosigned %d\n\t%s\n", w.Name, w.URL, w.Cosigned, strings.TrimSpace(w.Key))
		}
		return nil
	})
}
