package desk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"candor/inbox"
	"candor/internal/envelope"
)

// maxReply bounds a reply's text and files together: a reply travels in one envelope of at most
// 64 MiB (inbox.Reply refuses a larger one after sealing), so more cannot be sent anyway.
const maxReply = 60 << 20

var (
	errReplyTooLarge = errors.New("desk: reply larger than the limit")
	errNoMessage     = errors.New("desk: reply without a message")
	errBadForm       = errors.New("desk: malformed form")
)

// reply sends a reply with files: inbox.Reply, as `candor-inbox reply -m TEXT --file F…`, or
// with "this reply is the feedback" ticked inbox.Feedback, as `candor-inbox reply --feedback …`.
func (d *Desk) reply(w http.ResponseWriter, r *http.Request) {
	f, err := readReply(w, r)
	send := (*inbox.Inbox).Reply
	if f.feedback {
		send = (*inbox.Inbox).Feedback
	}
	if err == nil {
		err = d.do(func(in *inbox.Inbox) error { return send(in, r.PathValue("id"), f.text, f.files) })
	}
	d.afterAction(w, r, err, "replied")
}

// replyForm is a multipart form with a text and files: a reply's, or an oral report's.
type replyForm struct {
	text, category string
	feedback       bool
	files          []inbox.Attachment
}

// readReply reads the multipart form of a reply (or an intake) into memory. The files are plaintext, so they are
// never spooled to a temporary file (as Request.ParseMultipartForm would do for large ones).
func readReply(w http.ResponseWriter, r *http.Request) (replyForm, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxReply+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return replyForm{}, errBadForm
	}
	var f replyForm
	left := int64(maxReply)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return replyForm{}, errBadForm
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(part, left+1))
		if err != nil {
			return replyForm{}, errBadForm
		}
		if left -= n; left < 0 {
			return replyForm{}, errReplyTooLarge
		}
		switch part.FormName() {
		case "message":
			f.text = buf.String()
		case "category":
			f.category = strings.TrimSpace(buf.String())
		case "feedback":
			f.feedback = buf.String() == "yes"
		case "file":
			if part.FileName() == "" && buf.Len() == 0 {
				continue // an empty file input
			}
			b := buf.Bytes()
			f.files = append(f.files, inbox.Attachment{Name: part.FileName(),
				Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
		}
	}
	if strings.TrimSpace(f.text) == "" {
		return replyForm{}, errNoMessage
	}
	return f, nil
}

// status sets the case's status: inbox.SetStatus, as `candor-inbox status CASE STATUS`, or
// inbox.CloseCase with the form's outcome, as `candor-inbox status CASE closed --outcome O`.
func (d *Desk) status(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	s, outcome := r.PostFormValue("status"), r.PostFormValue("outcome")
	err := d.do(func(in *inbox.Inbox) error {
		if s == envelope.StatusClosed {
			return in.CloseCase(r.PathValue("id"), outcome)
		}
		return in.SetStatus(r.PathValue("id"), s)
	})
	d.afterAction(w, r, err, "status")
}

// hold places or lifts this reviewer's hold: inbox.Hold, as `candor-inbox hold CASE on|off`.
func (d *Desk) hold(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	v := r.PostFormValue("hold")
	err := errBadForm
	if v == "on" || v == "off" {
		err = d.do(func(in *inbox.Inbox) error { return in.Hold(r.PathValue("id"), v == "on") })
	}
	d.afterAction(w, r, err, "hold")
}

// afterAction redirects to the case page with a confirmation, or shows the case with what was
// refused.
func (d *Desk) afterAction(w http.ResponseWriter, r *http.Request, err error, done string) {
	if err == nil {
		http.Redirect(w, r, fmt.Sprintf("%s/case/%s?done=%s", d.base(), r.PathValue("id"), done), http.StatusSeeOther)
		return
	}
	if errors.Is(err, errLocked) || errors.Is(err, inbox.ErrNoCase) {
		d.fail(w, r, err)
		return
	}
	lang := d.lang(w, r)
	d.logErr(err)
	d.showCase(w, r, statusOf(err), d.refusalFor(lang, err))
}
