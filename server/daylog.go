package server

import (
	"context"
	"log/slog"
	"time"
)

// The server's log lines carry the day, not the time: a refusal, a failure or a warning logged at
// the second it happened would let whoever reads the log (or seizes it) line it up with a
// reporter's traffic — the time a circuit reached the service, the time an upload ended. Days are
// what the store keeps too (DESIGN §2). The process manager or journal may add its own timestamp;
// docs/admin.md says to turn that off.

// dayLogger returns a logger writing to l's handler with every record's time cut to its UTC day.
func dayLogger(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(dayHandler); ok {
		return l
	}
	return slog.New(dayHandler{l.Handler()})
}

// dayHandler passes records on with their time truncated to the UTC day.
type dayHandler struct{ h slog.Handler }

func (d dayHandler) Enabled(ctx context.Context, lv slog.Level) bool { return d.h.Enabled(ctx, lv) }

func (d dayHandler) Handle(ctx context.Context, r slog.Record) error {
	if !r.Time.IsZero() {
		r.Time = r.Time.UTC().Truncate(24 * time.Hour)
	}
	return d.h.Handle(ctx, r)
}

func (d dayHandler) WithAttrs(as []slog.Attr) slog.Handler { return dayHandler{d.h.WithAttrs(as)} }

func (d dayHandler) WithGroup(name string) slog.Handler { return dayHandler{d.h.WithGroup(name)} }
