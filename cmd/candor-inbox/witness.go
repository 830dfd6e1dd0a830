package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"candor/inbox"
)

// cmdWitness is `candor-inbox witness add --home DIR --key VKEY [--quorum N]` and
// `candor-inbox witness list --home DIR [--json]`.
func cmdWitness(e *env, fs *flag.FlagSet, args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return withHint("want add or list", "run candor-inbox witness --help")
	}
	key := fs.String("key", "", "the witness's verifier key (VKEY), as its operator gives it")
	quorum := fs.Int("quorum", 0, "how many of the configured witnesses must cosign (default: all)")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	_, in, err := e.parseOpen(fs, args[1:], 0, "no arguments besides add or list")
	if err != nil {
		return err
	}
	defer in.Close()
	var w *inbox.Witnesses
	if args[0] == "add" {
		if *key == "" {
			return withHint("no witness key: give --key VKEY", "ask the witness's operator for its verifier key (litewitness prints it as vkey=…)")
		}
		w, err = in.AddWitness(strings.TrimSpace(*key), *quorum)
	} else {
		w, err = in.Witnesses()
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if w.Keys == nil {
			w.Keys = []string{}
		}
		return json.NewEncoder(e.stdout).Encode(w)
	}
	for _, k := range w.Keys {
		fmt.Fprintf(e.stdout, "witness %s\n", k)
	}
	fmt.Fprintf(e.stdout, "every import needs the cosignatures of %d of these %d witnesses\n", w.Quorum, len(w.Keys))
	return nil
}

// printImport says what an import verified and changed.
func printImport(e *env, res *inbox.ImportResult) {
	if res.FirstPin {
		fmt.Fprintf(e.stdout, "first import: this inbox now trusts server key %s (and no other)\n", res.ServerKey)
	}
	fmt.Fprintf(e.stdout, "imported: %d cases, %d blobs (%d new), %d log entries for you and %d for others; "+
		"log %s size %d, root %s\n", res.Cases, res.Blobs, res.NewBlobs, res.Entries, res.Others,
		res.Origin, res.Size, res.Root)
	if len(res.Witnesses) > 0 {
		fmt.Fprintf(e.stdout, "checkpoint cosigned by: %s\n", strings.Join(res.Witnesses, ", "))
	}
	if r := res.Restore; r != nil {
		fmt.Fprintf(e.stderr, "candor-inbox: NOTICE: the server was restored from a backup: log epoch %d began "+
			"(the previous log was %s, the backup's log %s with %d entries).\n", r.Epoch, r.Previous, r.Backup, r.Restored)
		if r.Lost > 0 {
			fmt.Fprintf(e.stderr, "candor-inbox: NOTICE: %d entries of the previous log (%d to %d) are LOST: what "+
				"they recorded (reports, messages, replies, changes) is no longer on the server.\n", r.Lost, r.LostFrom, r.LostTo-1)
		}
		for _, id := range r.Cases {
			fmt.Fprintf(e.stderr, "candor-inbox: NOTICE: case %s lost entries in the restore; this inbox keeps its "+
				"copy (candor-inbox read shows them marked LOST)\n", id)
		}
		fmt.Fprintf(e.stderr, "candor-inbox: NOTICE: this inbox now follows epoch %d. Ask the admin why the "+
			"server was restored, and tell reporters of lost cases through another channel if you can.\n", r.Epoch)
	}
	for _, id := range res.Deleted {
		fmt.Fprintf(e.stdout, "case %s was deleted (the deletion is in the case log) and purged from this inbox\n", id)
	}
	for _, p := range res.Destroy {
		fmt.Fprintf(e.stdout, "destroy this file exported from a deleted case: %s\n", p)
	}
	for _, id := range res.Missing {
		fmt.Fprintf(e.stderr, "candor-inbox: WARNING: case %s is missing from the server WITHOUT a logged "+
			"deletion: it may have been suppressed; tell the other reviewers\n", id)
	}
}
