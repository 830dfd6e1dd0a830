package desk

import (
	"errors"
	"net/http"

	"candor/inbox"
)

// intakePage shows the form to record an oral report (a phone call or a meeting).
func (d *Desk) intakePage(w http.ResponseWriter, r *http.Request) {
	p := d.unlockedPage(w, r, "intake")
	p.Path = d.base() + "/intake"
	d.render(w, http.StatusOK, pageIntake, &intakeData{page: p, MaxReply: maxReply})
}

// intake records an oral report as a new case: inbox.Intake, as `candor-inbox intake -m TEXT
// [--category C] [--file F]…`, for every registered reviewer. The receipt code is shown on the
// answer to this POST only — not after a redirect, and kept nowhere — for the reviewer to hand to
// the reporter in person.
func (d *Desk) intake(w http.ResponseWriter, r *http.Request) {
	f, err := readReply(w, r)
	var res *inbox.IntakeResult
	if err == nil {
		err = d.do(func(in *inbox.Inbox) (err error) {
			res, err = in.Intake(inbox.IntakeOptions{Category: f.category, Text: f.text, Files: f.files})
			return err
		})
	}
	p := d.unlockedPage(w, r, "intake")
	p.Path = d.base() + "/intake"
	data := &intakeData{page: p, MaxReply: maxReply}
	status := http.StatusOK
	if err != nil {
		if errors.Is(err, errLocked) {
			d.fail(w, r, err)
			return
		}
		d.logErr(err)
		data.Refusal, status = d.refusalFor(p.Lang, err), statusOf(err)
	} else {
		data.Case, data.Short, data.Receipt = res.Case, short(res.Case), res.Receipt.String()
	}
	d.render(w, status, pageIntake, data)
}
