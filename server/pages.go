package server

import (
	"bytes"
	"errors"
	"io/fs"
	"mime"
	"path"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v2"

	"candor/crypto"
	"candor/frontend"
)

// pageError is an error a handler returns to show a fixed error page. err, if any, is for the log
// only and must hold no content, code or identifier.
type pageError struct {
	key  frontend.ErrorKey
	back string // overrides the page's default back link
	err  error
}

func (e *pageError) Error() string {
	if e.err != nil {
		return string(e.key) + ": " + e.err.Error()
	}
	return string(e.key)
}

func (e *pageError) Unwrap() error { return e.err }

func pageErr(k frontend.ErrorKey, err error) error { return &pageError{key: k, err: err} }

// storageFull reports whether err comes from a full disk or an exhausted quota.
func storageFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// errorHandler renders every error as a fixed page; only internal errors are logged with their
// (content-free) error, the others by their key.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
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
		pe = &pageError{key: frontend.ErrorBusy, back: pe.back}
	}
	if pe.key == frontend.ErrorInternal {
		s.log.Error("request failed", "err", pe.err)
	} else {
		s.log.Info("request refused", "reason", string(pe.key))
	}
	data := s.fe.Error(s.page(c), pe.key, s.limits.frontend())
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
	p.Title = s.currentSettings().ServiceName
	return p
}

func (s *Server) publicRoutes(app *fiber.App) {
	s.staticRoutes(app)
	app.Get("/", s.handleLanding)
	app.Get("/report", s.handleReportForm)
	app.Post("/report", s.handleReport)
	app.Get("/followup", s.handleFollowup)
	app.Post("/followup", s.handleLogin)
	app.Post("/followup/message", s.handleMessage)
	app.Get("/followup/file/:blob/:part", s.handleDownload)
	app.Post("/logout", s.handleLogout)
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
		Page: s.page(c), ServiceName: s.currentSettings().ServiceName, Organisation: s.currentSettings().Organisation,
		Reviewers: s.frontendReviewers(),
	})
}

// reviewer is a registered reviewer as the pages and uploads need it.
type reviewer struct {
	fp, name string
	card     *crypto.Card
}

// reviewers returns the registered reviewers whose cards parse, in fingerprint order.
func (s *Server) reviewers() ([]reviewer, error) {
	rs, err := s.st.Reviewers()
	if err != nil {
		return nil, err
	}
	out := make([]reviewer, 0, len(rs))
	for _, r := range rs {
		card, err := s.cards.parse(r.Card)
		if err != nil {
			s.log.Error("registered reviewer card does not parse", "err", err)
			continue
		}
		out = append(out, reviewer{fp: r.Fingerprint, name: card.Name(), card: card})
	}
	return out, nil
}

func (s *Server) frontendReviewers() []frontend.Reviewer {
	rs, err := s.reviewers()
	if err != nil {
		s.log.Error("listing reviewers", "err", err)
	}
	out := make([]frontend.Reviewer, 0, len(rs))
	for _, r := range rs {
		out = append(out, frontend.Reviewer{Name: r.name, Fingerprint: r.fp})
	}
	return out
}
