package server

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"candor/cases"
	"candor/server/store"
)

// syncRoutes registers the reviewers' sync API under /api/v1/ (Restricted and Dev call it):
// GET /api/v1/pull?since=N answers a bundle, POST /api/v1/push takes an outbox file.
func (s *Server) syncRoutes(app *fiber.App) {
	app.Get("/api/v1/pull", s.handlePull)
	app.Post("/api/v1/push", s.handlePush)
}

// authenticate returns the reviewer whose token is the request's bearer token.
func (s *Server) authenticate(c *fiber.Ctx) (*store.Reviewer, error) {
	tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok || tok == "" {
		return nil, cases.ErrUnauthorized
	}
	r, err := s.st.ReviewerByTokenHash(tokenHash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, cases.ErrUnauthorized
	}
	return r, err
}

// tokenHash is what the store keeps of a sync token (Admin.IssueToken): SHA-256 of its text.
func tokenHash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// apiError answers a JSON error: the fixed text of a sentinel, never details.
func (s *Server) apiError(c *fiber.Ctx, err error) error {
	code := fiber.StatusBadRequest
	msg := "sync: request refused"
	for _, e := range []struct {
		err  error
		code int
	}{{cases.ErrUnauthorized, fiber.StatusUnauthorized}, {cases.ErrReplay, fiber.StatusConflict},
		{cases.ErrAlreadyPushed, fiber.StatusConflict},
		{errPushBusy, fiber.StatusServiceUnavailable},
		{cases.ErrForged, fiber.StatusForbidden}, {cases.ErrNotOnCase, fiber.StatusForbidden},
		{cases.ErrBadOutbox, fiber.StatusBadRequest}, {cases.ErrNotReviewer, fiber.StatusForbidden},
		{cases.ErrHeldCase, fiber.StatusConflict}, {cases.ErrCaseExists, fiber.StatusConflict}} {
		if errors.Is(err, e.err) {
			code, msg = e.code, e.err.Error()
			break
		}
	}
	if code == fiber.StatusBadRequest && !errors.Is(err, cases.ErrBadOutbox) {
		if storageFull(err) {
			code, msg = fiber.StatusServiceUnavailable, "sync: the server's storage is full"
			s.log.Error("storage full: push refused", "err", err)
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.Status(code).JSON(fiber.Map{"error": msg})
		}
		code, msg = fiber.StatusInternalServerError, "sync: internal error"
		s.log.Error("sync request failed", "err", err)
	} else {
		s.log.Info("sync request refused", "reason", msg)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(code).JSON(fiber.Map{"error": msg})
}

// handlePull is GET /api/v1/pull[?since=N]: the reviewer's bundle, streamed.
func (s *Server) handlePull(c *fiber.Ctx) error {
	r, err := s.authenticate(c)
	if err != nil {
		return s.apiError(c, err)
	}
	since := r.AckCursor
	if q := c.Query("since"); q != "" {
		if since, err = strconv.ParseUint(q, 10, 64); err != nil {
			return s.apiError(c, fmt.Errorf("%w: since", cases.ErrBadOutbox))
		}
	}
	plan, err := s.PlanBundle(r, since)
	if err != nil {
		return s.apiError(c, err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.SendBundle(pw, plan)) }()
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendStream(pr)
}

// errPushBusy: maxPushes pushes are running and none ended within pushWait.
var errPushBusy = errors.New("sync: the server is busy with other pushes; try again in a minute")

// pushWait bounds a push's wait for one of the maxPushes slots.
const pushWait = time.Minute

// handlePush is POST /api/v1/push with an outbox file as the body: {"accepted":N}. At most
// maxPushes run at once, each holding one envelope in memory (cases.Push streams the outbox).
func (s *Server) handlePush(c *fiber.Ctx) error {
	r, err := s.authenticate(c)
	if err != nil {
		return s.apiError(c, err)
	}
	t := time.NewTimer(pushWait)
	defer t.Stop()
	select {
	case s.pushes <- struct{}{}:
		defer func() { <-s.pushes }()
	case <-t.C:
		return s.apiError(c, errPushBusy)
	}
	s.extendBodyDeadline(c)
	// The stream, never c.Body(): that would read the whole outbox into memory first.
	var body io.Reader = c.Context().RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(c.Body())
	}
	n, err := s.Push(r.Fingerprint, body)
	if err != nil {
		return s.apiError(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"accepted": n})
}
