package server

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"candor/cases"
	"candor/crypto"
	"candor/frontend"
	"candor/installation"
	"candor/internal/day"
	"candor/server/circuit"
	"candor/server/store"
)

const (
	keyNoticeSent   = frontend.KeyNoticeSent
	keyTraceMissing = frontend.KeyLoginMissing
	maxLoginBody    = 4 << 10
)

// handleFollowup is GET /followup: the case page for a live session, else the login form.
func (s *Server) handleFollowup(c *fiber.Ctx) error {
	if v, ok := s.session(c); ok {
		return s.casePage(c, v)
	}
	data := frontend.FollowupData{Page: s.page(c)}
	if c.Cookies(sessionCookie) != "" {
		s.clearSessionCookie(c)
		data.Error = s.fe.T(data.Lang, frontend.ErrorSessionExpired.MessageKey())
	}
	return s.render(c, fiber.StatusOK, frontend.PageFollowup, data)
}

// handleLogin is POST /followup with the receipt code. Every attempt costs one Argon2id
// derivation: a code that does not even parse derives a random dummy code, so a wrong code and a
// garbled one take the same time and the same path.
func (s *Server) handleLogin(c *fiber.Ctx) error {
	reqKey := requestKey(c) // the circuit's login budget is spent before any Argon2id work
	if err := s.spend(reqKey, circuit.Login, "/followup"); err != nil {
		return err
	}
	vals, err := smallForm(c, maxLoginBody)
	if err != nil {
		return err
	}
	typed := vals.Get("receipt")
	r, perr := crypto.ParseReceipt(typed)
	if perr != nil {
		r, err = crypto.NewReceipt(rand.Reader)
		if err != nil {
			return err
		}
	}
	key, err := s.Derive(c.UserContext(), r)
	if err != nil {
		return err
	}
	cs, err := s.st.CaseByLookup(key.Lookup)
	if perr != nil || errors.Is(err, store.ErrNotFound) {
		subject := cases.LookupSubject(key.Lookup)
		key.Wipe()
		return s.loginFailed(c, subject, typed, perr == nil)
	}
	if err != nil {
		key.Wipe()
		return err
	}
	if err := s.spend(reqKey, circuit.Session, "/followup"); err != nil {
		key.Wipe()
		return err
	}
	if old := c.Cookies(sessionCookie); old != "" {
		s.sessions.delete(old) // a new login replaces the browser's previous session
	}
	sid, ok := s.sessions.create(cs.ID, key)
	if !ok {
		return pageErr(frontend.ErrorBusy, nil)
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: sid, Path: "/", HTTPOnly: true, SameSite: "Strict"})
	return c.Redirect("/followup", fiber.StatusSeeOther)
}

// loginFailed shows the login form with the reason: typed words that are not in the word list
// (named; this depends only on the public list), a wrong code, or — if the log holds a
// CaseCreated entry for this code and no deletion of its case — that the case is missing without
// a logged deletion (the server lost or hid it: the reporter should know). A case deleted with a
// log entry (by the reviewers or retention) gets exactly the wrong-code page, the same status and
// body as a code never issued, after the same derivation and the same log lookup: whoever holds a
// code after the case is gone cannot tell from the server that there ever was a report. (The log
// itself, which reviewers and witnesses check, still shows the deletion.) The log is consulted
// for garbled codes too (with the dummy's subject). After a restore from a backup, a wrong code
// also says that reports made before it may have been lost in it.
func (s *Server) loginFailed(c *fiber.Ctx, subject [32]byte, typed string, parsed bool) error {
	t, err := s.Trace(subject)
	if err != nil {
		s.log.Error("reading the case log", "err", err)
	}
	data := frontend.FollowupData{Page: s.page(c)}
	unknown, words := crypto.ReceiptWordsNotInList(typed, maxNamedWords)
	switch {
	case parsed && t.Created >= 0 && t.Deleted < 0:
		data.Error = s.fe.T(data.Lang, keyTraceMissing, strconv.FormatInt(t.Created, 10))
	case !parsed && (len(unknown) > 0 || words > 0 && words != crypto.ReceiptWords):
		data.Error = s.fe.ReceiptProblem(data.Lang, unknown, words, crypto.ReceiptWords)
	default:
		data.Error = s.fe.T(data.Lang, frontend.ErrorWrongReceipt.MessageKey())
		data.Restored = t.Restored
	}
	s.log.Info("request refused", "reason", string(frontend.ErrorWrongReceipt))
	return s.render(c, frontend.ErrorWrongReceipt.Status(), frontend.PageFollowup, data)
}

// maxNamedWords bounds the typed words the login page names as not in the word list.
const maxNamedWords = 8

// smallForm reads a small urlencoded body (at most max bytes) without fiber's body parsing, which
// would buffer a body of any size up to BodyLimit.
func smallForm(c *fiber.Ctx, max int64) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, pageErr(frontend.ErrorMalformedForm, nil)
	}
	if int64(c.Request().Header.ContentLength()) > max {
		return nil, pageErr(frontend.ErrorMalformedForm, nil)
	}
	var body io.Reader = c.Context().RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(c.Body())
	}
	b, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, pageErr(frontend.ErrorUploadInterrupted, nil)
	}
	if int64(len(b)) > max {
		return nil, pageErr(frontend.ErrorMalformedForm, nil)
	}
	// ParseQuery refuses ';' but still returns the other pairs: a garbled code is a wrong code.
	vals, _ := url.ParseQuery(string(b))
	return vals, nil
}

// session returns the request's live session.
func (s *Server) session(c *fiber.Ctx) (view, bool) {
	sid := c.Cookies(sessionCookie)
	if sid == "" {
		return view{}, false
	}
	return s.sessions.get(sid)
}

func (s *Server) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: "Strict",
		Expires: time.Unix(1, 0)})
}

// casePage renders the case of session v.
func (s *Server) casePage(c *fiber.Ctx, v view) error {
	return s.casePageWith(c, v, fiber.StatusOK, frontend.Kept{})
}

// casePageWith renders the case of session v with status; kept fills the message form again
// after a refusal.
func (s *Server) casePageWith(c *fiber.Ctx, v view, status int, kept frontend.Kept) error {
	cs, err := s.st.Case(v.caseID)
	if errors.Is(err, store.ErrNotFound) {
		s.sessions.delete(c.Cookies(sessionCookie))
		s.clearSessionCookie(c)
		return pageErr(frontend.ErrorSessionExpired, nil)
	}
	if err != nil {
		return err
	}
	p := s.page(c)
	replies, unreadable := s.Replies(cs, v.identity)
	lv, err := s.LogView(cs)
	if err != nil {
		s.log.Error("checking the case log", "err", err)
	}
	ack, feedback, overdue := installation.Deadlines(cs, day.FromTime(s.now()))
	data := frontend.CaseData{Page: p, Status: cs.Status, Received: cs.Received, AckDue: ack,
		FeedbackDue: feedback, Replies: replies, Unreadable: unreadable, Sent: sentList(cs), Log: lv, Limits: s.limits.frontend(),
		Overdue: overdue, FeedbackGiven: cs.FeedbackGiven, Outcome: cs.Outcome, Record: s.Record(cs, v.identity)}
	if v.notice != "" {
		data.Notice = s.fe.T(p.Lang, v.notice)
	}
	data.Kept = kept
	return s.render(c, status, frontend.PageCase, data)
}

// sentList describes the reporter's own submissions without their content. The number of files is
// not known to the server (the sealed stream hides it, and the reporter cannot decrypt their own
// submissions), so it is shown as unknown (-1).
func sentList(cs *store.Case) []frontend.Sent {
	var out []frontend.Sent
	for _, m := range cs.Messages {
		if m.Author == store.AuthorReporter {
			out = append(out, frontend.Sent{Day: m.Day, Files: -1, Size: m.Size})
		}
	}
	return out
}

// handleDownload is GET /followup/file/BLOB/N: the N-th file of a reply of the session's case,
// decrypted as it is sent.
func (s *Server) handleDownload(c *fiber.Ctx) error {
	v, ok := s.session(c)
	if !ok {
		return pageErr(frontend.ErrorSessionExpired, nil)
	}
	blob, err := store.ParseBlobID(c.Params("blob"))
	n, nerr := strconv.Atoi(c.Params("part"))
	if err != nil || nerr != nil || n < 0 {
		return pageErr(frontend.ErrorNotFound, nil)
	}
	cs, err := s.st.Case(v.caseID)
	if err != nil || !cases.HasReply(cs, blob) && !cases.IsRecord(cs, blob) {
		return pageErr(frontend.ErrorNotFound, nil)
	}
	fr, name, err := s.SeekFile(blob, v.identity, n)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, contentDisposition(name))
	return c.SendStream(fr)
}

// contentDisposition makes an attachment header with an ASCII fallback and the UTF-8 name.
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name))
}

// handleMessage is POST /followup/message: a further message and files from the reporter, sealed
// to the case's reviewers like a report. A refusal shows the case page again with what was typed.
func (s *Server) handleMessage(c *fiber.Ctx) error {
	v, ok := s.session(c)
	if !ok {
		return s.refuseExpired(c)
	}
	key := requestKey(c)
	if err := s.spend(key, circuit.FollowUp, "/followup"); err != nil {
		return s.refuseUpload(c, err)
	}
	done, err := s.circuitUpload(key, "/followup")
	if err != nil {
		return s.refuseUpload(c, err)
	}
	defer done()
	mem, err := s.acquireUpload()
	if err != nil {
		u, release := s.keepSlot(c)
		if u == nil {
			return err
		}
		defer release()
		return s.refuseFollowup(c, v, u, err)
	}
	defer mem.release()
	cs, err := s.st.Case(v.caseID)
	if err != nil {
		return err
	}
	u, err := s.openUpload(c, mem)
	if u != nil {
		defer u.close()
	}
	if err == nil {
		err = s.receiveFollowup(u, cs)
	}
	if err != nil {
		return s.refuseFollowup(c, v, u, err)
	}
	s.sessions.setNotice(c.Cookies(sessionCookie), keyNoticeSent)
	return c.Redirect("/followup", fiber.StatusSeeOther)
}

// receiveFollowup reads a further message and files of case cs, seals them to the case's
// recipients and stores them.
func (s *Server) receiveFollowup(u *upload, cs *store.Case) error {
	f, err := u.fields()
	if err != nil {
		return err
	}
	if err := f.CheckNotEmpty(u.pending != nil); err != nil {
		return err
	}
	recipients, err := s.CaseRecipients(cs)
	if err != nil {
		return err
	}
	sl, err := u.seal(recipients)
	if err != nil {
		return err
	}
	if err := s.AddFollowup(cs.ID, sl); err != nil {
		if aerr := sl.Blob.Abort(); aerr != nil {
			s.log.Error("aborting upload", "err", aerr)
		}
		return err
	}
	return nil
}

// refuseExpired answers a follow-up message whose session expired (a reporter who wrote for
// longer than the idle timeout): the login form, and the message that was not sent, to copy before
// logging in again, with the names of the files (from this request's memory only).
func (s *Server) refuseExpired(c *fiber.Ctx) error {
	expired := &pageError{key: frontend.ErrorSessionExpired}
	u, done := s.keepSlot(c)
	if u == nil {
		return expired
	}
	defer done()
	kept := u.keep()
	if strings.TrimSpace(kept.Message) == "" && len(kept.Files) == 0 {
		return expired
	}
	s.refusal(expired)
	s.clearSessionCookie(c)
	data := frontend.FollowupData{Page: s.page(c), Error: s.fe.T(s.page(c).Lang, frontend.ErrorSessionExpired.MessageKey()),
		Unsent: kept}
	return s.render(c, frontend.ErrorSessionExpired.Status(), frontend.PageFollowup, data)
}

// refuseFollowup answers a refused follow-up message: the case page again, with what was typed
// (from this request's memory only) and the problem next to its field; the error page when
// nothing could be read.
func (s *Server) refuseFollowup(c *fiber.Ctx, v view, u *upload, err error) error {
	if errors.Is(err, cases.ErrEmpty) {
		err = pageErr(frontend.ErrorEmptyMessage, nil)
	}
	pe := s.refusal(err)
	if pe.key != frontend.ErrorInternal {
		pe.back = "/followup"
	}
	if u == nil {
		return s.errorPage(c, pe)
	}
	kept := u.keep()
	kept.Problems = []frontend.Problem{s.fe.Problem(s.page(c), pe.key, s.limits.frontend())}
	return s.casePageWith(c, v, pe.key.Status(), kept)
}

// handleLogout is POST /logout: the session is wiped and forgotten.
func (s *Server) handleLogout(c *fiber.Ctx) error {
	if sid := c.Cookies(sessionCookie); sid != "" {
		s.sessions.delete(sid)
	}
	c.Set("Clear-Site-Data", `"cache"`)
	return s.render(c, fiber.StatusOK, frontend.PageLoggedOut, frontend.LoggedOutData{Page: s.page(c)})
}

// handleLogoutClear is GET /logout/clear.css, an empty stylesheet that the logged-out page loads.
// Its answer clears the session cookie and sends Clear-Site-Data: "cache", "cookies".
//
// Chromium keeps pages served with Cache-Control: no-store in its back/forward cache and shows
// them again on Back — the whole case page, replies included, after a logout (issue 16) —
// unless a cookie of the site changes while the page is in that cache. A change made by the
// logout's own answer comes too early: it is processed before the logged-out page replaces the
// case page, so the case page enters the cache afterwards, unaffected. This request comes after
// the replacement, so its cookie change (and the cache clearing) evicts the case page. The
// session itself is wiped by the logout already; the cookie left until then names nothing.
func (s *Server) handleLogoutClear(c *fiber.Ctx) error {
	s.clearSessionCookie(c)
	c.Set("Clear-Site-Data", `"cache", "cookies"`)
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	return c.SendString("/* logged out */\n")
}
