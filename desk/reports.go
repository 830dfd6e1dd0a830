package desk

import (
	"io"
	"net/http"
	"strings"

	"candor/inbox"
	"candor/internal/day"
)

// statsOptions reads the optional from/to days of a stats request; a malformed day is errBadForm.
func statsOptions(r *http.Request) (inbox.StatsOptions, error) {
	var opt inbox.StatsOptions
	for _, f := range []struct {
		name string
		to   *day.Day
	}{{"from", &opt.From}, {"to", &opt.To}} {
		v := strings.TrimSpace(r.URL.Query().Get(f.name))
		if v == "" {
			continue
		}
		d, err := day.Parse(v)
		if err != nil {
			return opt, errBadForm
		}
		*f.to = d
	}
	return opt, nil
}

// statsFor computes the figures for the period r's query names.
func (d *Desk) statsFor(r *http.Request) (s *inbox.Stats, err error) {
	opt, err := statsOptions(r)
	if err != nil {
		return nil, err
	}
	err = d.do(func(in *inbox.Inbox) (err error) { s, err = in.Stats(opt); return err })
	return s, err
}

// stats shows the channel's figures: inbox.Stats, as `candor-inbox stats [--from D] [--to D]`.
func (d *Desk) stats(w http.ResponseWriter, r *http.Request) {
	s, err := d.statsFor(r)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	p := d.unlockedPage(w, r, "stats")
	p.Path = d.base() + "/stats"
	d.render(w, http.StatusOK, pageStats, &statsData{page: p, Stats: s,
		From: r.URL.Query().Get("from"), To: r.URL.Query().Get("to"), Query: r.URL.RawQuery})
}

// statsCSV downloads the same figures as CSV: Stats.WriteCSV, as `candor-inbox stats --csv`.
func (d *Desk) statsCSV(w http.ResponseWriter, r *http.Request) {
	s, err := d.statsFor(r)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", attachment("candor-stats.csv"))
	if err := s.WriteCSV(w); err != nil {
		d.cfg.Log.Printf("candor-desk: stats csv: %v", err)
	}
}

// casefile downloads the case's self-contained HTML casefile: inbox.Casefile, as
// `candor-inbox casefile CASE`. The inbox writes nothing unless the whole case decrypts, so the
// download headers go out with the first byte and a refusal still gets its own page.
func (d *Desk) casefile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	lw := &lazyDownload{w: w, name: "casefile-" + short(id) + ".html"}
	err := d.do(func(in *inbox.Inbox) error { return in.Casefile(id, lw) })
	if err != nil && lw.started {
		d.cfg.Log.Printf("candor-desk: casefile cut short: %v", err)
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		d.fail(w, r, err)
	}
}

// lazyDownload sets a download's headers at its first Write.
type lazyDownload struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (l *lazyDownload) Write(b []byte) (int, error) {
	if !l.started {
		l.w.Header().Set("Content-Type", "application/octet-stream")
		l.w.Header().Set("Content-Disposition", attachment(l.name))
		l.started = true
	}
	return l.w.Write(b)
}

var _ io.Writer = (*lazyDownload)(nil)
