package desk

import (
	"net/http"
	"strings"

	"candor/inbox"
)

// Team actions of the case page (DESIGN §12): each one call of package inbox, the call the
// matching candor-inbox command makes.

// note seals a note to the case's reviewers only: inbox.Note, as `candor-inbox note CASE -m TEXT`.
func (d *Desk) note(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	text := r.PostFormValue("note")
	err := errNoMessage
	if strings.TrimSpace(text) != "" {
		err = d.do(func(in *inbox.Inbox) error { return in.Note(r.PathValue("id"), text) })
	}
	d.afterAction(w, r, err, "note")
}

// assign names the case's lead: inbox.Assign, as `candor-inbox assign CASE FP|me|none`.
func (d *Desk) assign(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	who := r.PostFormValue("who")
	err := errBadForm
	if who != "" {
		err = d.do(func(in *inbox.Inbox) error { return in.Assign(r.PathValue("id"), who) })
	}
	d.afterAction(w, r, err, "assign")
}

// share gives a registered reviewer access to the case: inbox.Share, as
// `candor-inbox share CASE FP`. The inbox refuses an unregistered or removed reviewer.
func (d *Desk) share(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	who := strings.TrimSpace(r.PostFormValue("who"))
	err := errBadForm
	if who != "" {
		err = d.do(func(in *inbox.Inbox) error { return in.Share(r.PathValue("id"), who) })
	}
	d.afterAction(w, r, err, "share")
}

// deletePage is the confirm step of an early deletion: a second page with the reason, so that one
// click on the case page deletes nothing.
func (d *Desk) deletePage(w http.ResponseWriter, r *http.Request) {
	var v *inbox.CaseView
	if err := d.do(func(in *inbox.Inbox) (err error) { v, err = in.Case(r.PathValue("id")); return err }); err != nil {
		d.fail(w, r, err)
		return
	}
	p := d.unlockedPage(w, r, "cases")
	p.Path = d.base() + "/case/" + v.Case + "/delete"
	d.render(w, http.StatusOK, pageDelete, &deleteData{page: p, Case: v.Case, Short: short(v.Case)})
}

// deleteCase queues the early deletion: inbox.Delete, as `candor-inbox delete CASE --reason TEXT`.
// Only the confirm page's form (confirm=yes) reaches it; the inbox refuses an empty reason.
func (d *Desk) deleteCase(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	reason := r.PostFormValue("reason")
	err := errBadForm
	if r.PostFormValue("confirm") == "yes" {
		err = d.do(func(in *inbox.Inbox) error { return in.Delete(r.PathValue("id"), reason) })
	}
	d.afterAction(w, r, err, "delete")
}

// fingerprintOf returns the fingerprint of a "Name (fingerprint)" label of inbox.CaseView, for
// the assign form's choices; "" if the label has none.
func fingerprintOf(label string) string {
	i := strings.LastIndexByte(label, '(')
	if i < 0 || !strings.HasSuffix(label, ")") {
		return ""
	}
	return label[i+1 : len(label)-1]
}
