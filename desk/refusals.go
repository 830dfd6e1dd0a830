package desk

import (
	"errors"
	"net/http"

	"candor/crypto"
	"candor/inbox"
	"candor/internal/envelope"
)

// refusalKinds maps what the inbox (or the desk) refuses to a catalog key (KEY.title,
// KEY.message) and whether the inbox's own error text is worth showing under "technical details":
// for the integrity refusals it holds the sizes, roots and fingerprints to compare with the other
// reviewers. Inbox errors never hold a passphrase, key or plaintext.
func refusalKind(err error) (key string, details bool) {
	for _, k := range []struct {
		err     error
		key     string
		details bool
	}{
		{inbox.ErrForged, "desk.err.forged", true},
		{inbox.ErrFork, "desk.err.fork", true},
		{inbox.ErrRollback, "desk.err.rollback", true},
		{inbox.ErrWithheld, "desk.err.withheld", true},
		{inbox.ErrRecipients, "desk.err.recipients", true},
		{inbox.ErrUnwitnessed, "desk.err.unwitnessed", true},
		{inbox.ErrOldBundle, "desk.err.oldbundle", false},
		{inbox.ErrRewrite, "desk.err.fork", true},
		{inbox.ErrNoProof, "desk.err.noproof", true},
		{inbox.ErrServerUnconfirmed, "desk.err.unconfirmed", false},
		{inbox.ErrOtherServer, "desk.err.otherserver", true},
		{inbox.ErrOtherReviewer, "desk.err.otherreviewer", true},
		{inbox.ErrBadBundle, "desk.err.badbundle", false},
		{inbox.ErrNoCard, "desk.err.nocard", false},
		{inbox.ErrNoCase, "desk.err.nocase", false},
		{errReplyTooLarge, "desk.err.toolarge", false},
		{errNoMessage, "desk.err.nomessage", false},
		{errNoBundle, "desk.err.nobundle", false},
		{errUpload, "desk.err.upload", false},
		{errBadForm, "desk.err.badform", false},
		{envelope.ErrNoOutcome, "desk.err.outcome", false},
		{envelope.ErrUnknownOutcome, "desk.err.outcome", false},
		{inbox.ErrNotReviewer, "desk.err.notreviewer", true},
		{crypto.ErrInvalidFingerprint, "desk.err.badfingerprint", true},
		{inbox.ErrAlreadyOnCase, "desk.err.alreadyoncase", false},
		{inbox.ErrNoReason, "desk.err.noreason", false},
		{inbox.ErrTooLargeToShare, "desk.err.toolargetoshare", false},
	} {
		if errors.Is(err, k.err) {
			return k.key, k.details
		}
	}
	return "desk.err.internal", false
}

// refusalKeys are the keys refusalKind returns (for the catalog test).
func refusalKeys() []string {
	return []string{"desk.err.forged", "desk.err.fork", "desk.err.rollback", "desk.err.withheld",
		"desk.err.recipients", "desk.err.unwitnessed", "desk.err.oldbundle", "desk.err.noproof", "desk.err.unconfirmed", "desk.err.badfingerprint", "desk.err.otherserver",
		"desk.err.otherreviewer", "desk.err.badbundle", "desk.err.nocard", "desk.err.nocase",
		"desk.err.toolarge", "desk.err.nomessage", "desk.err.nobundle", "desk.err.upload",
		"desk.err.badform", "desk.err.outcome", "desk.err.notreviewer", "desk.err.alreadyoncase",
		"desk.err.noreason", "desk.err.toolargetoshare", "desk.err.internal", "desk.err.notfound", "desk.refused.host",
		"desk.refused.origin", "desk.refused.secret"}
}

func (d *Desk) refusalFor(lang string, err error) *refusal {
	key, details := refusalKind(err)
	ref := &refusal{Heading: d.f.T(lang, key+".title"), Message: d.f.T(lang, key+".message")}
	if details {
		ref.Details = err.Error()
	}
	return ref
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, inbox.ErrNoCase):
		return http.StatusNotFound
	case errors.Is(err, errReplyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, inbox.ErrForged), errors.Is(err, inbox.ErrFork), errors.Is(err, inbox.ErrRewrite),
		errors.Is(err, inbox.ErrNoProof), errors.Is(err, inbox.ErrOtherServer), errors.Is(err, inbox.ErrOtherReviewer),
		errors.Is(err, inbox.ErrBadBundle), errors.Is(err, inbox.ErrNoCard), errors.Is(err, inbox.ErrRollback),
		errors.Is(err, inbox.ErrWithheld), errors.Is(err, inbox.ErrRecipients), errors.Is(err, inbox.ErrUnwitnessed),
		errors.Is(err, inbox.ErrOldBundle):
		return http.StatusUnprocessableEntity
	case errors.Is(err, inbox.ErrServerUnconfirmed), errors.Is(err, crypto.ErrInvalidFingerprint), errors.Is(err, errNoMessage), errors.Is(err, errNoBundle), errors.Is(err, errUpload), errors.Is(err, errBadForm),
		errors.Is(err, envelope.ErrNoOutcome), errors.Is(err, envelope.ErrUnknownOutcome),
		errors.Is(err, inbox.ErrNotReviewer), errors.Is(err, inbox.ErrAlreadyOnCase), errors.Is(err, inbox.ErrNoReason),
		errors.Is(err, inbox.ErrTooLargeToShare):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (d *Desk) logErr(err error) { d.cfg.Log.Printf("candor-desk: %v", err) }

// fail answers a request whose inbox call failed with a page of its own.
func (d *Desk) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errLocked) {
		d.locked(w, r)
		return
	}
	d.logErr(err)
	key, _ := refusalKind(err)
	d.problem(w, r, statusOf(err), key, nil)
}

func (d *Desk) problem(w http.ResponseWriter, r *http.Request, status int, key string, ref *refusal) {
	p := d.unlockedPage(w, r, "")
	p.Unlocked = !d.Locked()
	if ref == nil {
		ref = &refusal{Heading: d.f.T(p.Lang, key+".title"), Message: d.f.T(p.Lang, key+".message")}
	}
	d.render(w, status, pageProblem, &problemData{page: p, Refusal: ref})
}
