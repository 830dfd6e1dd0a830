package admin

import (
	"context"
	"log/slog"
	"time"

	"candor/installation"
	"candor/internal/day"
	"candor/server/store"
)

// Jobs are the periodic admin jobs of a running server: the daily retention run with its signed
// checkpoint, the content-free notification and the log check at start-up.
type Jobs struct {
	Store *store.Store
	Log   *slog.Logger     // required
	Now   func() time.Time // nil: time.Now
	// Submissions returns the submissions per day the running server counted
	// (server.SubmissionCounts); nil counts the store's cases by the day they were received.
	Submissions func() map[day.Day]int
}

func (j *Jobs) now() time.Time {
	if j.Now == nil {
		return time.Now()
	}
	return j.Now()
}

// RunRetention runs the retention job once a day (by the server's clock: at start, then at the
// first check after each UTC midnight) until ctx ends. A failed run is logged and retried at the
// next check. cmd/candor starts it with the server: go jobs.RunRetention(ctx).
func (j *Jobs) RunRetention(ctx context.Context) {
	t := time.NewTicker(jobInterval)
	defer t.Stop()
	last := noDay
	for {
		last = j.RetentionTick(ctx, last)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RetentionTick runs Retention if the server's day differs from last and returns the day of the
// last successful run.
func (j *Jobs) RetentionTick(ctx context.Context, last day.Day) day.Day {
	today := day.FromTime(j.now())
	if today == last {
		return last
	}
	if _, err := Retention(ctx, j.Store, RetentionOptions{Today: today, Log: j.Log}); err != nil {
		j.Log.Error("retention job failed", "err", err)
		return last
	}
	// A daily signed checkpoint, so that CheckLog can tell a later rewrite of today's log.
	if err := RecordCheckpoint(j.Store); err != nil {
		j.Log.Error("recording a checkpoint", "err", err)
	}
	return today
}

// RunNotify counts the cases needing attention (Attention, by the server's clock) every
// jobInterval and at start, and lets n send the number when the rules of Update allow, until ctx
// ends. cmd/candor starts it when --notify-url is given:
//
//	n, err := admin.NewNotifier(url, nil, log)
//	go jobs.RunNotify(ctx, n)
func (j *Jobs) RunNotify(ctx context.Context, n *Notifier) {
	t := time.NewTicker(jobInterval)
	defer t.Stop()
	for {
		j.NotifyTick(ctx, n)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// NotifyTick counts and updates once; it reports whether a notification was sent.
func (j *Jobs) NotifyTick(ctx context.Context, n *Notifier) bool {
	today := day.FromTime(j.now())
	count, err := installation.Attention(j.Store, today)
	if err != nil {
		j.Log.Error("counting cases for the notification", "err", err)
		return false
	}
	sig, err := submissionSignal(j.Store, j.Submissions, today)
	if err != nil {
		j.Log.Error("counting submissions for the notification", "err", err)
	}
	return n.Update(ctx, today, Report{Attention: count, UnusualRate: sig.Unusual})
}

// VerifyLog checks the server's case log (CheckLog) and logs the outcome; an inconsistent log is
// logged at error level with a loud message, and its checkpoint is left as it is (it is the
// evidence). A consistent log gets a fresh checkpoint recorded. cmd/candor serve calls it at
// start-up and keeps serving either way: reporters must still reach the reviewers.
func (j *Jobs) VerifyLog() error {
	rep, err := CheckLog(j.Store)
	if err != nil {
		j.Log.Error("CASE LOG INCONSISTENT: the store was altered outside Candor; tell the reviewers and keep a copy of the data directory",
			"err", err)
		return err
	}
	j.Log.Info("case log verified", "entries", rep.Size, "checkpoint", rep.Checkpoint,
		"deleted", rep.Deleted, "deleted_by_retention", rep.RetentionDeleted)
	if err := RecordCheckpoint(j.Store); err != nil {
		j.Log.Error("recording a checkpoint", "err", err)
		return err
	}
	return nil
}
