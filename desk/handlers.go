package desk

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"candor/inbox"
)

// routes maps each page and action to its handler. Every handler is thin: decode the request,
// make one inbox call through do, render. Note, assign, share and delete are in team.go, stats
// and casefile in reports.go, intake in intake.go.
func (d *Desk) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.keyed(d.home))
	mux.HandleFunc("GET /unlock", d.unlockPage)
	mux.HandleFunc("POST /unlock", d.unlock)
	mux.HandleFunc("POST /lock", d.lock)
	mux.HandleFunc("GET /cases", d.keyed(d.cases))
	mux.HandleFunc("GET /case/{id}", d.keyed(d.casePage))
	mux.HandleFunc("GET /case/{id}/file/{blob}/{n}", d.keyed(d.file))
	mux.HandleFunc("POST /case/{id}/reply", d.keyed(d.reply))
	mux.HandleFunc("POST /case/{id}/status", d.keyed(d.status))
	mux.HandleFunc("POST /case/{id}/hold", d.keyed(d.hold))
	mux.HandleFunc("POST /case/{id}/note", d.keyed(d.note))
	mux.HandleFunc("POST /case/{id}/assign", d.keyed(d.assign))
	mux.HandleFunc("POST /case/{id}/share", d.keyed(d.share))
	mux.HandleFunc("GET /case/{id}/delete", d.keyed(d.deletePage))
	mux.HandleFunc("POST /case/{id}/delete", d.keyed(d.deleteCase))
	mux.HandleFunc("GET /case/{id}/casefile", d.keyed(d.casefile))
	mux.HandleFunc("GET /intake", d.keyed(d.intakePage))
	mux.HandleFunc("POST /intake", d.keyed(d.intake))
	mux.HandleFunc("GET /stats", d.keyed(d.stats))
	mux.HandleFunc("GET /stats.csv", d.keyed(d.statsCSV))
	mux.HandleFunc("GET /import", d.keyed(d.importPage))
	mux.HandleFunc("POST /import", d.keyed(d.importBundle))
	mux.HandleFunc("GET /outbox", d.keyed(d.outboxPage))
	mux.HandleFunc("POST /outbox", d.keyed(d.writeOutbox))
	mux.HandleFunc("GET /outbox/{name}", d.keyed(d.outboxFile))
	mux.HandleFunc("/", d.notFound)
	return mux
}

// do runs fn with the inbox, one call at a time, if the desk is unlocked (else errLocked, and fn
// does not run). Each call counts as activity for the idle lock.
func (d *Desk) do(fn func(in *inbox.Inbox) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lockIfIdle() {
		return errLocked
	}
	d.last = d.cfg.Now()
	return fn(d.in)
}

// keyed runs h only while the desk is unlocked; otherwise see locked.
func (d *Desk) keyed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.Locked() {
			d.locked(w, r)
			return
		}
		h(w, r)
	}
}

// locked answers a request that needs the keys while they are locked: a GET goes to the unlock
// page; anything else is refused (403) with the unlock page saying that nothing was done.
func (d *Desk) locked(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, d.base()+"/unlock", http.StatusSeeOther)
		return
	}
	p := d.newPage(w, r, "", true)
	p.Path = d.base() + "/unlock"
	p.Notice = d.f.T(p.Lang, "desk.locked.nothing")
	d.render(w, http.StatusForbidden, pageUnlock, &unlockData{page: p})
}

func (d *Desk) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, d.base()+"/cases", http.StatusSeeOther)
}

func (d *Desk) notFound(w http.ResponseWriter, r *http.Request) {
	d.problem(w, r, http.StatusNotFound, "desk.err.notfound", nil)
}

// unlockedPage returns the common page data of a page shown while unlocked.
func (d *Desk) unlockedPage(w http.ResponseWriter, r *http.Request, nav string) page {
	p := d.newPage(w, r, nav, true)
	p.Unlocked = true
	return p
}

func (d *Desk) unlockPage(w http.ResponseWriter, r *http.Request) {
	if !d.Locked() {
		http.Redirect(w, r, d.base()+"/cases", http.StatusSeeOther)
		return
	}
	d.render(w, http.StatusOK, pageUnlock, &unlockData{page: d.newPage(w, r, "", true)})
}

// unlock takes the passphrase. It passes through net/http's buffers and a Go string that cannot
// be overwritten; what the desk can wipe — the decrypted keys — it wipes on lock.
func (d *Desk) unlock(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	err := d.Unlock([]byte(r.PostFormValue("passphrase")))
	if err == nil {
		http.Redirect(w, r, d.base()+"/cases?done=unlocked", http.StatusSeeOther)
		return
	}
	p := d.newPage(w, r, "", true)
	p.Path = d.base() + "/unlock"
	key := "desk.unlock.wrong"
	if !errors.Is(err, inbox.ErrPassphrase) {
		d.cfg.Log.Printf("candor-desk: unlock: %v", err)
		key = "desk.unlock.failed"
	}
	d.render(w, http.StatusForbidden, pageUnlock, &unlockData{page: p, Error: d.f.T(p.Lang, key)})
}

func (d *Desk) lock(w http.ResponseWriter, r *http.Request) {
	d.Lock()
	http.Redirect(w, r, d.base()+"/unlock?done=locked", http.StatusSeeOther)
}

func (d *Desk) cases(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opt := inbox.ListOptions{Status: q.Get("status"), Assignee: q.Get("assignee"), Search: q.Get("q"),
		Overdue: q.Get("overdue") != ""}
	var all, shown []inbox.CaseInfo
	err := d.do(func(in *inbox.Inbox) (err error) {
		if all, err = in.List(); err != nil {
			return err
		}
		shown, err = in.ListFiltered(opt) // the filter and search of candor-inbox list
		return err
	})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	p := d.unlockedPage(w, r, "cases")
	p.Path = d.base() + "/cases"
	data := &casesData{page: p, Total: len(all), Query: opt.Search, Status: opt.Status, Overdue: opt.Overdue,
		Assignee: opt.Assignee, Statuses: d.statusOptions(p.Lang, true)}
	for _, c := range shown {
		row := caseRow{CaseInfo: c, Short: short(c.Case)}
		due := c.FeedbackDue
		if c.Status == "received" {
			due = c.AckDue
		}
		row.Due, row.HasDue = parseDay(due)
		data.Cases = append(data.Cases, row)
	}
	d.render(w, http.StatusOK, pageCases, data)
}

func (d *Desk) casePage(w http.ResponseWriter, r *http.Request) {
	d.showCase(w, r, http.StatusOK, nil)
}

// showCase decrypts the case named by the path and renders it, with ref (if any) above it.
func (d *Desk) showCase(w http.ResponseWriter, r *http.Request, status int, ref *refusal) {
	id := r.PathValue("id")
	var v *inbox.CaseView
	var fp string
	err := d.do(func(in *inbox.Inbox) (err error) {
		fp = in.Fingerprint()
		v, err = in.Case(id)
		return err
	})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	p := d.unlockedPage(w, r, "cases")
	p.Path = d.base() + "/case/" + v.Case
	data := &caseData{page: p, Short: short(v.Case), Case: v, Statuses: d.statusOptions(p.Lang, false),
		MyHold: slices.Contains(v.Holds, fp), MaxReply: maxReply, Refusal: ref}
	data.Received, _ = parseDay(v.Received)
	data.AckDue, _ = parseDay(v.AckDue)
	data.FeedbackDue, _ = parseDay(v.FeedbackDue)
	for _, r := range v.Reviewers {
		if fp := fingerprintOf(r); fp != "" {
			data.Leads = append(data.Leads, statusOption{fp, r})
		}
	}
	for _, e := range v.Events {
		data.Events = append(data.Events, eventRow{Index: e.Index, Day: e.Day, Type: e.Type, Value: e.Value,
			Actor: v.ActorNames[e.Actor]})
	}
	d.render(w, status, pageCase, data)
}

// file streams one decrypted file as a download, byte for byte, under its sanitised name. The
// response is sent as it is decrypted, never buffered whole. If decryption fails after the first
// bytes went out, the connection is cut so that the browser marks the download failed instead of
// keeping a truncated file.
func (d *Desk) file(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		d.notFound(w, r)
		return
	}
	started := false
	err = d.do(func(in *inbox.Inbox) error {
		return in.WriteFile(r.PathValue("id"), r.PathValue("blob"), n, func(name string) (io.Writer, error) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", attachment(name))
			started = true
			return w, nil
		})
	})
	if err != nil && started {
		d.cfg.Log.Printf("candor-desk: download cut short: %v", err)
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		d.fail(w, r, err)
	}
}

// attachment is the Content-Disposition of a download named name (RFC 6266; non-ASCII names in
// RFC 2231 form).
func attachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return `attachment; filename="file"`
}
