package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"candor/admin"
	"candor/installation"
	"candor/internal/day"
	"candor/server/store"
)

const retentionUsage = "candor retention --data DIR [--now YYYY-MM-DD] [--dry-run] [--json]"

// retentionResult is the --json output.
type retentionResult struct {
	Day     string `json:"day"`
	DryRun  bool   `json:"dry_run"`
	Due     int    `json:"due"`
	Held    int    `json:"held"`
	Deleted int    `json:"deleted"`
}

// runRetention applies the retention policy once, as candor serve does every day. It needs the
// store to itself: while candor serve runs, the daily job inside it does this work.
func runRetention(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("retention", retentionUsage, stderr)
	data := dataFlag(fs)
	nowFlag := fs.String("now", "", "apply the policy as of this `day` (YYYY-MM-DD, not after today; default today)")
	dry := fs.Bool("dry-run", false, "count the due cases, delete nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, 0); err != nil {
		return err
	}
	today, err := retentionDay(*nowFlag, day.FromTime(time.Now()))
	if err != nil {
		return err
	}
	st, err := openRetentionStore(*data)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rep, err := admin.Retention(context.Background(), st, admin.RetentionOptions{Today: today, DryRun: *dry, Log: log})
	if err != nil {
		return err
	}
	res := retentionResult{Day: today.String(), DryRun: *dry, Due: rep.Due, Held: rep.Held, Deleted: rep.Deleted}
	if *asJSON {
		return printJSON(stdout, res)
	}
	verb := "deleted"
	if *dry {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "retention as of %s: %d due, %d held, %s %d\n", res.Day, res.Due, res.Held, verb, res.Due-res.Held)
	return nil
}

// retentionDay parses --now. A day after today is refused: it would delete cases before their
// time (and date their deletion in the future).
func retentionDay(s string, today day.Day) (day.Day, error) {
	if s == "" {
		return today, nil
	}
	d, err := day.Parse(s)
	if err != nil {
		return 0, err
	}
	if d > today {
		return 0, withHint(fmt.Errorf("--now %s is after today", s), "--now may only look back, so that nothing is deleted early")
	}
	return d, nil
}

// openRetentionStore opens the store of data, refusing if candor serve holds it.
func openRetentionStore(data string) (*store.Store, error) {
	path := filepath.Join(data, installation.StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no store in %s (run candor init --data %s)", data, data)
	}
	st, err := store.Open(path, &store.Options{LockTimeout: adminLockTimeout, ChunkSize: store.MaxChunkSize})
	if errors.Is(err, store.ErrLocked) {
		return nil, withHint(err, "candor serve runs the retention job every day; stop it to run the job by hand")
	}
	return st, err
}
