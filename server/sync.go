package server

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"candor/crypto"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/logentry"
	"candor/server/store"
)

// Errors of the sync API. Their text is what the reviewer's `candor sync` prints; none carries a
// token, a case ID or content.
var (
	// ErrUnauthorized: no bearer token, or one that matches no reviewer.
	ErrUnauthorized = errors.New("sync: unknown or missing token")
	// ErrReplay: an envelope's sequence number is not greater than the last one accepted.
	ErrReplay = errors.New("sync: envelope replayed (sequence number already used)")
	// ErrForged: an envelope names another reviewer or its signature does not verify.
	ErrForged = errors.New("sync: envelope signature does not verify for this reviewer")
	// ErrNotOnCase: an envelope names a case that does not exist or does not list the reviewer.
	ErrNotOnCase = errors.New("sync: the reviewer is not on the envelope's case")
	// ErrBadOutbox: the outbox does not parse, exceeds the limits or holds an invalid envelope.
	ErrBadOutbox = errors.New("sync: malformed outbox")
)

// MaxOutboxEnvelopes bounds the envelopes of one push.
const MaxOutboxEnvelopes = 10000

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
		return nil, ErrUnauthorized
	}
	r, err := s.st.ReviewerByTokenHash(tokenHash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthorized
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
	}{{ErrUnauthorized, fiber.StatusUnauthorized}, {ErrReplay, fiber.StatusConflict},
		{ErrForged, fiber.StatusForbidden}, {ErrNotOnCase, fiber.StatusForbidden},
		{ErrBadOutbox, fiber.StatusBadRequest}} {
		if errors.Is(err, e.err) {
			code, msg = e.code, e.err.Error()
			break
		}
	}
	if code == fiber.StatusBadRequest && !errors.Is(err, ErrBadOutbox) {
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
			return s.apiError(c, fmt.Errorf("%w: since", ErrBadOutbox))
		}
	}
	plan, err := s.planBundle(r, since)
	if err != nil {
		return s.apiError(c, err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.writeBundle(pw, plan)) }()
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendStream(pr)
}

// handlePush is POST /api/v1/push with an outbox file as the body: {"accepted":N}.
func (s *Server) handlePush(c *fiber.Ctx) error {
	r, err := s.authenticate(c)
	if err != nil {
		return s.apiError(c, err)
	}
	var body io.Reader = bytes.NewReader(c.Body())
	if st := c.Context().RequestBodyStream(); st != nil {
		body = st
	}
	n, err := s.Push(r.Fingerprint, body)
	if err != nil {
		return s.apiError(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"accepted": n})
}

// Push applies the outbox in src on behalf of reviewer fp and returns the number of envelopes
// accepted. Every envelope is checked first — signed by fp's registered card (both halves),
// sequence numbers above the last accepted, cases that list fp — and any failure refuses the whole
// outbox with nothing stored. The sequence numbers are then reserved in one transaction (so a
// concurrent replay of the same outbox is refused) and the envelopes applied in order.
func (s *Server) Push(fp string, src io.Reader) (int, error) {
	envs, err := envelope.ReadOutbox(src, MaxOutboxEnvelopes, s.limits.MaxTotalBytes+uploadOverhead)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadOutbox, err)
	}
	if len(envs) == 0 {
		return 0, nil
	}
	if err := s.checkEnvelopes(fp, envs); err != nil {
		return 0, err
	}
	if err := s.reserve(fp, envs); err != nil {
		return 0, err
	}
	for _, e := range envs {
		if err := s.apply(fp, e); err != nil {
			return 0, fmt.Errorf("applying envelope %d: %w", e.Seq, err)
		}
	}
	return len(envs), nil
}

// checkEnvelopes verifies every envelope without storing anything.
func (s *Server) checkEnvelopes(fp string, envs []*envelope.Envelope) error {
	r, err := s.st.Reviewer(fp)
	if err != nil {
		return err
	}
	card, err := crypto.ParseCard(r.Card)
	if err != nil {
		return err
	}
	last := r.Seq
	for _, e := range envs {
		if e.Reviewer != fp || envelope.Verify(e, card.VerifyKey()) != nil {
			return ErrForged
		}
		if e.Seq <= last {
			return ErrReplay
		}
		last = e.Seq
		if err := s.checkEnvelope(fp, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) checkEnvelope(fp string, e *envelope.Envelope) error {
	if e.Kind == envelope.KindAck {
		head, err := s.st.FeedHead()
		if err != nil {
			return err
		}
		size, err := s.st.LogSize()
		if err != nil {
			return err
		}
		if e.Cursor > head || int64(e.TreeSize) > size {
			return fmt.Errorf("%w: acknowledgement beyond the server's feed or log", ErrBadOutbox)
		}
		return nil
	}
	cs, err := s.st.Case(store.CaseID(e.Case))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !slices.Contains(cs.Reviewers, fp)) {
		return ErrNotOnCase
	}
	if err != nil {
		return err
	}
	if e.Kind == envelope.KindReply {
		if _, _, err := crypto.SplitHeader(bytes.NewReader(e.Body)); err != nil {
			return fmt.Errorf("%w: reply is not an age file", ErrBadOutbox)
		}
	}
	return nil
}

// reserve advances the reviewer's sequence number past the outbox (and its acknowledged cursor),
// refusing the outbox if another push used any of its numbers meanwhile.
func (s *Server) reserve(fp string, envs []*envelope.Envelope) error {
	_, err := s.st.UpdateReviewer(fp, func(r *store.Reviewer) error {
		if envs[0].Seq <= r.Seq {
			return ErrReplay
		}
		r.Seq = envs[len(envs)-1].Seq
		for _, e := range envs {
			if e.Kind == envelope.KindAck && e.Cursor >= r.AckCursor {
				r.AckCursor, r.AckTreeSize = e.Cursor, int64(e.TreeSize)
			}
		}
		return nil
	}, nil)
	return err
}

// apply carries out one checked envelope with its log entry.
func (s *Server) apply(fp string, e *envelope.Envelope) error {
	today := day.FromTime(s.now())
	id := store.CaseID(e.Case)
	entry := logentry.Entry{Day: today, Case: e.Case, Actor: fp}
	switch e.Kind {
	case envelope.KindReply:
		return s.storeReply(id, fp, e, today)
	case envelope.KindStatus:
		entry.Type, entry.Value = logentry.StatusChanged, e.Status
		return s.updateCase(id, &entry, func(c *store.Case) {
			if sign(c, fp, e) {
				setStatus(c, e.Status, today)
			}
		})
	case envelope.KindHold:
		entry.Type, entry.Value = logentry.HoldChanged, onOff(e.Hold)
		return s.updateCase(id, &entry, func(c *store.Case) {
			if sign(c, fp, e) {
				setHold(c, fp, e.Hold)
			}
		})
	}
	return nil // KindAck: done by reserve
}

func (s *Server) updateCase(id store.CaseID, e *logentry.Entry, fn func(*store.Case)) error {
	b, err := e.Marshal()
	if err != nil {
		return err
	}
	_, err = s.st.UpdateCase(id, func(c *store.Case) error { fn(c); return nil }, [][]byte{b})
	return err
}

// sign appends the signature of status or hold envelope e by fp to the case's signed changes, so
// that bundles carry it to every inbox (which derives the case's status and holds from the
// reviewers' signatures, not the server's word), and reports whether e takes effect: whether no
// earlier-applied status change of the case (or hold of fp) was signed on a later day. The latest
// change is the one of the latest day, and among changes of one day the one applied last; a change
// signed on an earlier day but pushed later is kept but does not take effect. The inbox applies
// the same rule to the list (inbox/changes.go).
func sign(c *store.Case, fp string, e *envelope.Envelope) bool {
	ch := store.SignedChange{Kind: store.ChangeStatus, Author: fp, Seq: e.Seq, Day: e.Day,
		Status: e.Status, Hold: e.Hold, Sig: bytes.Clone(e.Sig)}
	if e.Kind == envelope.KindHold {
		ch.Kind = store.ChangeHold
	}
	latest := true
	for _, o := range c.Signed {
		if o.Kind == ch.Kind && (ch.Kind == store.ChangeStatus || o.Author == fp) && o.Day > ch.Day {
			latest = false
		}
	}
	c.Signed = append(c.Signed, ch)
	return latest
}

func setStatus(c *store.Case, status string, today day.Day) {
	c.Status = status
	if status != envelope.StatusReceived && c.Acknowledged == 0 {
		c.Acknowledged = today
	}
	c.Closed = 0
	if status == envelope.StatusClosed {
		c.Closed = today
	}
}

func setHold(c *store.Case, fp string, on bool) {
	c.Holds = slices.DeleteFunc(c.Holds, func(h string) bool { return h == fp })
	if on {
		c.Holds = append(c.Holds, fp)
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// storeReply stores the reply envelope's age file as a reply blob of the case with its
// ReplyAdded entry, keeping the envelope's signature with the message so that bundles carry it to
// every inbox (which verifies the reviewer's authorship; the server's word is not enough).
func (s *Server) storeReply(id store.CaseID, fp string, e *envelope.Envelope, today day.Day) error {
	header, payload, err := crypto.SplitHeader(bytes.NewReader(e.Body))
	if err != nil {
		return err
	}
	w, err := s.st.NewBlob()
	if err != nil {
		return err
	}
	err = w.SetHeader(header)
	if err == nil {
		_, err = io.Copy(w, payload)
	}
	var blob store.BlobID
	if err == nil {
		blob, err = w.Close()
	}
	entry, merr := (&logentry.Entry{Type: logentry.ReplyAdded, Day: today, Case: id, Actor: fp,
		Subject: HeaderSubject(header)}).Marshal()
	if err == nil && merr == nil {
		sig := &store.Signature{Seq: e.Seq, Day: e.Day, Sig: bytes.Clone(e.Sig)}
		_, err = s.st.AddMessage(id, store.Message{Blob: blob, Kind: store.KindReply, Author: fp, Day: today,
			Signature: sig}, [][]byte{entry})
	}
	if err != nil || merr != nil {
		w.Abort()
		return errors.Join(err, merr)
	}
	return nil
}
