package server

import (
	"bytes"
	"errors"
	"io/fs"
	"mime"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"candor/cases"
	"candor/frontend"
	"candor/installation"
)

// pageError is an error a handler returns to show a fixed error page. err, if any, is for the log
// only and must hold no content, code or identifier.
type pageError struct {
	key   frontend.ErrorKey
	back  string // overrides the page's default back link
	err   error
	retry time.Duration // ErrorOverBudget: when the circuit may act again (Retry-After)
	what  string        // ErrorOverBudget: which budget, for the log
}

func (e *pageError) Error() string {
	if e.err != nil {
		return string(e.key) + ": " + e.err.Error()
	}
	return string(e.key)
}

func (e *pageError) Unwrap() error { return e.err }

func pageErr(k frontend.ErrorKey, err error) error { return &pageError{key: k, err: err} }

// asPage turns a refusal of the case domain into its page; other errors are returned as they are.
func asPage(err error) error {
	for _, m := range []struct {
		err error
		key frontend.ErrorKey
	}{
		{cases.ErrUnknownCategory, frontend.ErrorUnknownCategory},
		{cases.ErrNoReviewer, frontend.ErrorNoReviewer},
		{cases.ErrUnknownReviewer, frontend.ErrorUnknownReviewer},
		{cases.ErrBusy, frontend.ErrorBusy},
		{cases.ErrNoSuchFile, frontend.ErrorNotFound},
		{cases.ErrEmpty, frontend.ErrorEmptyReport},
	} {
		if errors.Is(err, m.err) {
			return pageErr(m.key, nil)
		}
	}
	return err
}

// storageFull reports whether err comes from a full disk or an exhausted quota. bbolt reports a
// failed file resize with the errno's text only ("file resize error: no space left on device"),
// so the text is checked too.
func storageFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}

// errorHandler renders every error as a fixed page.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	return s.errorPage(c, s.refusal(err))
}

// refusal turns err into the page error to show and logs it: internal errors with their
// (content-free) error, the others by their key.
func (s *Server) refusal(err error) *pageError {
	err = asPage(err)
	pe := new(pageError)
	var fe *fiber.Error
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &fe):
		pe = &pageError{key: fiberErrorKey(fe)}
	default:
		pe = &pageError{key: frontend.ErrorInternal, err: err}
	}
	if pe.key == frontend.ErrorInternal && storageFull(pe.err) {
		// Nothing was stored (the transaction failed whole); the reporter may try again later.
		s.log.Error("storage full: request refused", "err", pe.err)
		pe = &pageError{key: frontend.ErrorStorageFull, back: pe.back}
	}
	switch {
	case pe.key == frontend.ErrorInternal:
		s.log.Error("request failed", "err", pe.err)
	case pe.key == frontend.ErrorOverBudget:
		s.log.Info("request refused", "reason", string(pe.key), "budget", pe.what)
	case pe.key != frontend.ErrorStorageFull:
		s.log.Info("request refused", "reason", string(pe.key))
	}
	return pe
}

// errorPage renders the fixed error page of pe.
func (s *Server) errorPage(c *fiber.Ctx, pe *pageError) error {
	var data frontend.ErrorData
	if pe.key == frontend.ErrorOverBudget {
		data = s.fe.OverBudget(s.page(c), int((pe.retry+time.Minute-1)/time.Minute), pe.back)
		c.Set(fiber.HeaderRetryAfter, retryAfter(pe.retry))
	} else {
		data = s.fe.Error(s.page(c), pe.key, s.limits.frontend())
	}
	if pe.back != "" {
		data.Back = pe.back
	}
	var buf bytes.Buffer
	if rerr := s.fe.Render(&buf, frontend.PageError, data); rerr != nil {
		s.log.Error("rendering error page", "err", rerr)
		return c.Status(data.Status).SendString("error")
	}
	if pe.key == frontend.ErrorMethodNotAllowed {
		c.Set("Allow", "GET, HEAD, POST")
	}
	c.Status(data.Status)
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// fiberErrorKey maps the errors fiber and fasthttp raise before or instead of a handler. fasthttp
// reads a small body (up to 8 KiB) before the handler runs; if that read ends early the error
// reaches us as a 400 whose message mentions EOF.
func fiberErrorKey(fe *fiber.Error) frontend.ErrorKey {
	if fe.Code == fiber.StatusBadRequest && strings.Contains(fe.Message, "EOF") ||
		fe.Code == fiber.StatusRequestTimeout {
		return frontend.ErrorUploadInterrupted
	}
	switch fe.Code {
	case fiber.StatusNotFound:
		return frontend.ErrorNotFound
	case fiber.StatusMethodNotAllowed:
		return frontend.ErrorMethodNotAllowed
	case fiber.StatusRequestEntityTooLarge:
		return frontend.ErrorTooLarge
	case fiber.StatusBadRequest, fiber.StatusRequestHeaderFieldsTooLarge:
		return frontend.ErrorMalformedForm
	case fiber.StatusServiceUnavailable:
		return frontend.ErrorBusy
	}
	return frontend.ErrorInternal
}

// render renders page into a buffer and sends it with status only if rendering succeeded.
func (s *Server) render(c *fiber.Ctx, status int, page string, data any) error {
	var buf bytes.Buffer
	if err := s.fe.Render(&buf, page, data); err != nil {
		return err
	}
	c.Status(status)
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// langCookie remembers an explicit language choice (?lang=) for the browser session. It holds only
// a language tag.
const langCookie = "lang"

// lang picks the page language and remembers an explicit, supported ?lang= choice in a session
// cookie, so that the choice survives form posts without JavaScript.
func (s *Server) lang(c *fiber.Ctx) string {
	q := c.Query("lang")
	if tag, ok := s.fe.Match(q); ok && q != "" {
		c.Cookie(&fiber.Cookie{Name: langCookie, Value: tag, Path: "/", HTTPOnly: true, SameSite: "Strict"})
	}
	return s.fe.Negotiate(q, c.Cookies(langCookie), c.Get("Accept-Language"))
}

// page returns the common page data for the request.
func (s *Server) page(c *fiber.Ctx) frontend.Page {
	p := s.fe.Page(s.lang(c), c.Path())
	p.Title = s.CurrentSettings().ServiceName
	p.Info = s.CurrentSettings().InfoKindsWritten()
	return p
}

func (s *Server) publicRoutes(app *fiber.App) {
	s.staticRoutes(app)
	app.Get("/", s.handleLanding)
	app.Get("/report", s.handleReportForm)
	app.Post("/report", s.handleReport)
	app.Get(receiptPagePath, s.handleReceipt)
	app.Get(receiptPagePath+"/forget.css", s.handleReceiptForget)
	app.Get("/followup", s.handleFollowup)
	app.Post("/followup", s.handleLogin)
	app.Post("/followup/message", s.handleMessage)
	app.Get("/followup/file/:blob/:part", s.handleDownload)
	app.Post("/logout", s.handleLogout)
	app.Get("/logout/clear.css", s.handleLogoutClear)
	app.Get("/info/:kind", s.handleInfo)
	// Known paths with another method get 405, not 404.
	for _, p := range []string{"/", "/report", "/followup", "/followup/message", "/logout"} {
		app.All(p, func(c *fiber.Ctx) error { return pageErr(frontend.ErrorMethodNotAllowed, nil) })
	}
}

// staticRoutes serves the frontend's static files, read once.
func (s *Server) staticRoutes(app *fiber.App) {
	files := map[string][]byte{}
	fs.WalkDir(s.fe.Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := fs.ReadFile(s.fe.Static(), p); err == nil {
				files[p] = b
			}
		}
		return nil
	})
	app.Get("/static/*", func(c *fiber.Ctx) error {
		name := c.Params("*")
		b, ok := files[name]
		if !ok {
			return pageErr(frontend.ErrorNotFound, nil)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		c.Set(fiber.HeaderContentType, ct)
		// Static files never change within one binary; they may be cached, pages may not.
		c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
		return c.Send(b)
	})
}

func (s *Server) handleLanding(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, frontend.PageLanding, frontend.LandingData{
		Page: s.page(c), ServiceName: s.CurrentSettings().ServiceName, Organisation: s.CurrentSettings().Organisation,
		Reviewers: s.frontendReviewers(),
	})
}

// reviewers returns the registered reviewers whose cards parse, in fingerprint order.
func (s *Server) frontendReviewers() []frontend.Reviewer {
	rs, err := s.Reviewers()
	if err != nil {
		s.log.Error("listing reviewers", "err", err)
	}
	out := make([]frontend.Reviewer, 0, len(rs))
	for _, r := range rs {
		out = append(out, frontend.Reviewer{Name: r.Name, Fingerprint: r.Fingerprint, Recipient: r.Card.Recipient().String()})
	}
	return out
}

// frontendCategories converts the categories for the report page.
func frontendCategories(s installation.Settings) []frontend.Category {
	out := make([]frontend.Category, 0, len(s.Categories))
	for _, c := range s.Categories {
		fc := frontend.Category{ID: c.ID, Name: c.Name, Description: c.Description}
		for _, f := range c.Fields {
			fc.Fields = append(fc.Fields, frontend.Field{ID: f.ID, Label: f.Label, Help: f.Help,
				Kind: f.Kind, Options: f.Options, Required: f.Required})
		}
		out = append(out, fc)
	}
	return out
}

// handleInfo is GET /info/KIND: the organisation's information page of that kind (procedure,
// privacy, external) in the reporter's language, else in English or another one; 404 if none.
func (s *Server) handleInfo(c *fiber.Ctx) error {
	p := s.page(c)
	ip, ok := s.CurrentSettings().Info(c.Params("kind"), p.Lang)
	if !ok {
		return pageErr(frontend.ErrorNotFound, nil)
	}
	var paras []string
	for _, para := range strings.Split(strings.ReplaceAll(ip.Body, "\r\n", "\n"), "\n\n") {
		if t := strings.TrimSpace(para); t != "" {
			paras = append(paras, t)
		}
	}
	return s.render(c, fiber.StatusOK, frontend.PageInfo, frontend.InfoData{Page: p, Kind: ip.Kind,
		Heading: ip.Title, Paragraphs: paras, WrittenIn: ip.Lang})
}
