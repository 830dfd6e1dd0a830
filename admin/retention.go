package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"candor/installation"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

// Retention log entries: a CaseDeleted entry with Actor RetentionActor and Value RetentionValue.
const (
	RetentionActor = "server"
	RetentionValue = "retention"
)

// RetentionOptions configures one run of Retention.
type RetentionOptions struct {
	Today  day.Day      // the day the policy is applied on
	DryRun bool         // count only: delete nothing, log nothing to the case log
	Log    *slog.Logger // nil: discard
}

// RetentionReport counts what a run of Retention found and did; it holds no case identifiers.
type RetentionReport struct {
	Due     int // cases whose retention period is over
	Held    int // of those, cases a reviewer holds (kept)
	Deleted int // cases deleted (0 in a dry run)
}

// Retention applies the retention policy of the settings stored in st on opts.Today: every due
// case (RetentionDue) without a hold is deleted with store.DeleteCase together with a CaseDeleted
// log entry (Actor "server", Value "retention", dated Today), and if anything was deleted the
// store is compacted so that no age header of a deleted blob survives in the store file, and a
// signed checkpoint covering the deletions is recorded (RecordCheckpoint). It logs
// the counts, never case identifiers. On error the cases deleted so far stay deleted and logged,
// and the error is returned without identifiers; the next run compacts.
func Retention(ctx context.Context, st *store.Store, opts RetentionOptions) (RetentionReport, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var rep RetentionReport
	settings, err := installation.LoadSettings(st)
	if err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	due, err := dueCases(st, settings, opts.Today, &rep)
	if err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	if !opts.DryRun {
		err = deleteDue(st, due, opts.Today, &rep)
		if rep.Deleted > 0 {
			if cerr := st.Compact(ctx); cerr != nil && err == nil {
				err = fmt.Errorf("retention: compacting: %w", cerr)
			}
			if cerr := RecordCheckpoint(st); cerr != nil && err == nil {
				err = fmt.Errorf("retention: recording a checkpoint: %w", cerr)
			}
		}
	}
	log.Info("retention", "due", rep.Due, "held", rep.Held, "deleted", rep.Deleted, "dry_run", opts.DryRun)
	return rep, err
}

// dueCases returns the IDs of the due cases without a hold, counting due and held cases.
func dueCases(st *store.Store, s installation.Settings, today day.Day, rep *RetentionReport) ([]store.CaseID, error) {
	var ids []store.CaseID
	err := st.Cases(func(c *store.Case) error {
		if !installation.RetentionDue(s, c, today) {
			return nil
		}
		rep.Due++
		if len(c.Holds) > 0 {
			rep.Held++
			return nil
		}
		ids = append(ids, c.ID)
		return nil
	})
	return ids, err
}

// deleteDue deletes the cases with their CaseDeleted entries. A case that got a hold or vanished
// since it was listed is skipped.
func deleteDue(st *store.Store, ids []store.CaseID, today day.Day, rep *RetentionReport) error {
	for _, id := range ids {
		e, err := (&logentry.Entry{Type: logentry.CaseDeleted, Day: today, Case: id,
			Actor: RetentionActor, Value: RetentionValue}).Marshal()
		if err != nil {
			return err
		}
		_, err = st.DeleteCase(id, [][]byte{e})
		switch {
		case errors.Is(err, store.ErrHeld):
			rep.Held++
		case errors.Is(err, store.ErrNotFound):
			rep.Due--
		case err != nil:
			return fmt.Errorf("retention: deleting a case: %w", err)
		default:
			rep.Deleted++
		}
	}
	return nil
}

// noDay marks "never ran" for the daily jobs.
const noDay = day.Day(math.MinInt32)

// jobInterval is how often the daily jobs look at the clock.
const jobInterval = time.Hour
