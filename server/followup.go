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

	"filippo.io/age"
	"github.com/gofiber/fiber/v2"

	"candor/crypto"
	"candor/frontend"
	"candor/internal/day"
	"candor/internal/frame"
	"candor/internal/logentry"
	"candor/server/store"
)

const (
	keyNoticeSent    = frontend.KeyNoticeSent
	keyTraceMissing  = frontend.KeyLoginMissing
	keyTraceDeleted  = frontend.KeyLoginDeleted
	maxLoginBody     = 4 << 10
	maxReplyText     = 1 << 20
	downloadPathRoot = "/followup/file/"
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
	vals, err := smallForm(c, maxLoginBody)
	if err != nil {
		return err
	}
	r, perr := crypto.ParseReceipt(vals.Get("receipt"))
	if perr != nil {
		r, err = crypto.NewReceipt(rand.Reader)
		if err != nil {
			return err
		}
	}
	key, err := s.derive(c.UserContext(), r)
	if err != nil {
		return err
	}
	cs, err := s.st.CaseByLookup(key.Lookup)
	if perr != nil || errors.Is(err, store.ErrNotFound) {
		subject := LookupSubject(key.Lookup)
		key.Wipe()
		return s.loginFailed(c, subject, perr == nil)
	}
	if err != nil {
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

// loginFailed shows the login form with the reason: a wrong code, or — if the log holds a
// CaseCreated entry for this code — that the case was deleted (logged) or is missing without a
// logged deletion. The log is consulted for garbled codes too (with the dummy's subject).
func (s *Server) loginFailed(c *fiber.Ctx, subject [32]byte, parsed bool) error {
	t, err := s.trace(subject)
	if err != nil {
		s.log.Error("reading the case log", "err", err)
	}
	data := frontend.FollowupData{Page: s.page(c)}
	switch {
	case parsed && t.created >= 0 && t.deleted >= 0:
		data.Error = s.fe.T(data.Lang, keyTraceDeleted, strconv.FormatInt(t.created, 10), strconv.FormatInt(t.deleted, 10))
	case parsed && t.created >= 0:
		data.Error = s.fe.T(data.Lang, keyTraceMissing, strconv.FormatInt(t.created, 10))
	default:
		data.Error = s.fe.T(data.Lang, frontend.ErrorWrongReceipt.MessageKey())
	}
	s.log.Info("request refused", "reason", string(frontend.ErrorWrongReceipt))
	return s.render(c, frontend.ErrorWrongReceipt.Status(), frontend.PageFollowup, data)
}

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
	replies := s.replies(cs, v.identity)
	lv, err := s.logView(cs)
	if err != nil {
		s.log.Error("checking the case log", "err", err)
	}
	ack, feedback, overdue := Deadlines(cs, day.FromTime(s.now()))
	data := frontend.CaseData{Page: p, Status: cs.Status, Received: cs.Received, AckDue: ack,
		FeedbackDue: feedback, Replies: replies, Sent: sentList(cs), Log: lv, Limits: s.limits.frontend(),
		Overdue: overdue}
	if v.notice != "" {
		data.Notice = s.fe.T(p.Lang, v.notice)
	}
	return s.render(c, fiber.StatusOK, frontend.PageCase, data)
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

// replies decrypts the case's replies with the reporter's identity, in memory. A reply that fails
// to decrypt is left out and logged (without identifiers).
func (s *Server) replies(cs *store.Case, id *age.HybridIdentity) []frontend.Reply {
	names := s.reviewerNames()
	var out []frontend.Reply
	for _, m := range cs.Messages {
		if m.Kind != store.KindReply {
			continue
		}
		r, err := s.readReply(m, id)
		if err != nil {
			s.log.Error("decrypting a reply", "err", err)
			continue
		}
		r.Day, r.Author = m.Day, m.Author
		if n, ok := names[m.Author]; ok {
			r.Author = n
		}
		out = append(out, r)
	}
	return out
}

func (s *Server) reviewerNames() map[string]string {
	rs, _ := s.reviewers()
	m := make(map[string]string, len(rs))
	for _, r := range rs {
		m[r.fp] = r.name
	}
	return m
}

// readReply decrypts one reply: its message text (up to maxReplyText bytes shown) and the names
// and sizes of its files, whose download links name the blob and the file's position.
func (s *Server) readReply(m store.Message, id *age.HybridIdentity) (frontend.Reply, error) {
	var r frontend.Reply
	fr, err := s.openSealed(m.Blob, id)
	if err != nil {
		return r, err
	}
	var text strings.Builder
	for n := 0; ; {
		p, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, err
		}
		switch p.Kind {
		case frame.KindMessage:
			if _, err := io.Copy(&text, io.LimitReader(fr, int64(maxReplyText-text.Len()))); err != nil {
				return r, err
			}
		case frame.KindFile:
			size, err := io.Copy(io.Discard, fr)
			if err != nil {
				return r, err
			}
			r.Files = append(r.Files, frontend.ReplyFile{Name: p.Name, Size: size,
				URL: downloadPathRoot + m.Blob.String() + "/" + strconv.Itoa(n)})
			n++
		}
	}
	r.Text = text.String()
	return r, nil
}

func (s *Server) openSealed(id store.BlobID, ident *age.HybridIdentity) (*frame.Reader, error) {
	b, err := s.st.OpenBlob(id)
	if err != nil {
		return nil, err
	}
	pt, err := crypto.Open(b.Header, b, ident)
	if err != nil {
		return nil, err
	}
	return frame.NewReader(pt), nil
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
	if err != nil || !hasReply(cs, blob) {
		return pageErr(frontend.ErrorNotFound, nil)
	}
	fr, name, err := s.seekFile(blob, v.identity, n)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, contentDisposition(name))
	return c.SendStream(fr)
}

func hasReply(cs *store.Case, blob store.BlobID) bool {
	for _, m := range cs.Messages {
		if m.Blob == blob && m.Kind == store.KindReply {
			return true
		}
	}
	return false
}

// seekFile opens a reply and positions it at the body of its n-th file.
func (s *Server) seekFile(blob store.BlobID, id *age.HybridIdentity, n int) (io.Reader, string, error) {
	fr, err := s.openSealed(blob, id)
	if err != nil {
		return nil, "", err
	}
	for i := 0; ; {
		p, err := fr.Next()
		if err == io.EOF {
			return nil, "", pageErr(frontend.ErrorNotFound, nil)
		}
		if err != nil {
			return nil, "", err
		}
		if p.Kind != frame.KindFile {
			continue
		}
		if i == n {
			name := SanitizeFilename(p.Name)
			if name == "" {
				name = "file"
			}
			return fr, name, nil
		}
		i++
	}
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
// to the case's reviewers like a report.
func (s *Server) handleMessage(c *fiber.Ctx) error {
	v, ok := s.session(c)
	if !ok {
		return &pageError{key: frontend.ErrorSessionExpired}
	}
	release, err := s.acquireUpload()
	if err != nil {
		return err
	}
	defer release()
	cs, err := s.st.Case(v.caseID)
	if err != nil {
		return err
	}
	sl, err := s.readUpload(c, func(*form) ([]age.Recipient, error) { return s.caseRecipients(cs) })
	if err != nil {
		if pe := new(pageError); errors.As(err, &pe) && pe.key != frontend.ErrorInternal {
			pe.back = "/followup"
		}
		return err
	}
	if err := s.addFollowup(cs.ID, sl); err != nil {
		if aerr := sl.blob.Abort(); aerr != nil {
			s.log.Error("aborting upload", "err", aerr)
		}
		return err
	}
	s.sessions.setNotice(c.Cookies(sessionCookie), keyNoticeSent)
	return c.Redirect("/followup", fiber.StatusSeeOther)
}

// caseRecipients returns the recipients of the case's reviewers that are still registered.
func (s *Server) caseRecipients(cs *store.Case) ([]age.Recipient, error) {
	all, err := s.reviewers()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, fp := range cs.Reviewers {
		want[fp] = true
	}
	var rs []age.Recipient
	for _, r := range all {
		if want[r.fp] {
			rs = append(rs, r.card.Recipient())
		}
	}
	if len(rs) == 0 {
		return nil, errors.New("no reviewer of the case is registered")
	}
	return rs, nil
}

// addFollowup commits sl as a follow-up message of the case with its MessageAdded log entry.
func (s *Server) addFollowup(id store.CaseID, sl *sealed) error {
	today := day.FromTime(s.now())
	e, err := (&logentry.Entry{Type: logentry.MessageAdded, Day: today, Case: id, Actor: store.AuthorReporter,
		Subject: HeaderSubject(sl.header)}).Marshal()
	if err != nil {
		return err
	}
	_, err = s.st.AddMessage(id, store.Message{Blob: sl.id, Kind: store.KindFollowup,
		Author: store.AuthorReporter, Day: today}, [][]byte{e})
	return err
}

// handleLogout is POST /logout: the session is wiped and forgotten.
func (s *Server) handleLogout(c *fiber.Ctx) error {
	if sid := c.Cookies(sessionCookie); sid != "" {
		s.sessions.delete(sid)
	}
	s.clearSessionCookie(c)
	return s.render(c, fiber.StatusOK, frontend.PageLoggedOut, frontend.LoggedOutData{Page: s.page(c)})
}
