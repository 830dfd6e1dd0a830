package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"candor/cases"
	"candor/crypto"
	"candor/frontend"
	"candor/installation"
	"candor/server/circuit"
)

func (s *Server) handleReportForm(c *fiber.Ctx) error {
	return s.renderReport(c, fiber.StatusOK, c.Query(fieldCategory), frontend.Kept{})
}

// renderReport renders the report form with a fresh one-time token; kept, after a refusal, fills
// it again with what the reporter typed and says what to fix.
func (s *Server) renderReport(c *fiber.Ctx, status int, category string, kept frontend.Kept) error {
	return s.render(c, status, frontend.PageReport, frontend.ReportData{
		Page: s.page(c), Categories: frontendCategories(*s.CurrentSettings()), Selected: category,
		Reviewers: s.frontendReviewers(), Limits: s.limits.frontend(), Token: newFormToken(), Kept: kept,
	})
}

// errSeeReceipt means that the form token of a POST already made its case, whose receipt was
// not shown yet: the answer is the redirect to the receipt page.
var errSeeReceipt = errors.New("form token already used; receipt not shown yet")

// handleReport is POST /report: the streamed submission, then the receipt. A form with a token
// gets a 303 to the receipt page; a POST without one (scripts) gets the receipt page itself. A
// refusal shows the form again with what the reporter typed.
func (s *Server) handleReport(c *fiber.Ctx) error {
	key := requestKey(c)
	if err := s.spend(key, circuit.Submit, "/report"); err != nil {
		return s.refuseUpload(c, err)
	}
	done, err := s.circuitUpload(key, "/report")
	if err != nil {
		return s.refuseUpload(c, err)
	}
	defer done()
	mem, err := s.acquireUpload()
	if err != nil {
		return s.refuseBusy(c, err)
	}
	defer mem.release()
	u, err := s.openUpload(c, mem)
	if u != nil {
		defer u.close()
	}
	if err != nil {
		return s.refuseReport(c, u, err)
	}
	nc, err := s.receiveReport(c, u)
	switch {
	case errors.Is(err, errSeeReceipt):
		u.skim() // let the browser finish sending, so that it reads the answer
		return s.toReceipt(c, u.token)
	case err != nil:
		return s.refuseReport(c, u, err)
	}
	s.days.Add(nc.Received)
	if u.token == "" {
		defer func() { nc.Code = crypto.Receipt{} }()
		return s.render(c, fiber.StatusOK, frontend.PageReceipt, s.receiptData(c, nc))
	}
	s.tokens.finish(u.token, nc)
	return s.toReceipt(c, u.token)
}

// receiveReport reads, checks and seals the submission and stores its case.
func (s *Server) receiveReport(c *fiber.Ctx, u *upload) (*cases.NewCase, error) {
	f, err := u.fields()
	if err != nil {
		return nil, err
	}
	if err := s.claimToken(u); err != nil {
		return nil, err
	}
	cat, err := s.ChooseCategory(f)
	if err != nil {
		return nil, err
	}
	if err := f.CheckNotEmpty(u.pending != nil); err != nil {
		return nil, err
	}
	chosen, recipients, err := s.ChooseReviewers(f)
	if err != nil {
		return nil, err
	}
	sl, err := u.seal(recipients)
	if err != nil {
		return nil, err
	}
	nc, err := s.CreateCase(c.UserContext(), sl, cat.ID, chosen)
	if err != nil {
		if aerr := sl.Blob.Abort(); aerr != nil {
			s.log.Error("aborting upload", "err", aerr)
		}
		return nil, err
	}
	return nc, nil
}

// claimToken claims the form's token, if it sent a well-formed one (others are ignored, as if
// absent). A POST repeating a token that is still being received waits for that one to end.
func (s *Server) claimToken(u *upload) error {
	if !validToken(u.token) {
		u.token = ""
		return nil
	}
	for {
		res, wait := s.tokens.claim(u.token)
		switch res {
		case claimed:
			u.claimed = true
			return nil
		case claimWait:
			<-wait
		case claimReceipt:
			return errSeeReceipt
		case claimUsed:
			return pageErr(frontend.ErrorAlreadyReceived, nil)
		default:
			return pageErr(frontend.ErrorBusy, nil)
		}
	}
}

// toReceipt sends the browser to the receipt page of token tok (kept in a cookie for that page
// only).
func (s *Server) toReceipt(c *fiber.Ctx, tok string) error {
	c.Cookie(&fiber.Cookie{Name: receiptCookie, Value: tok, Path: receiptPagePath, HTTPOnly: true, SameSite: "Strict"})
	return c.Redirect(receiptPagePath, fiber.StatusSeeOther)
}

// handleReceipt is GET /report/receipt: the receipt of the browser's last report, shown once
// from memory. A reload says that it was shown.
func (s *Server) handleReceipt(c *fiber.Ctx) error {
	tok := c.Cookies(receiptCookie)
	if tok == receiptShown {
		return pageErr(frontend.ErrorReceiptShown, nil)
	}
	if !validToken(tok) {
		return pageErr(frontend.ErrorNotFound, nil)
	}
	nc, ok := s.tokens.take(tok)
	switch {
	case !ok:
		return pageErr(frontend.ErrorNotFound, nil)
	case nc == nil:
		return pageErr(frontend.ErrorReceiptShown, nil)
	}
	defer func() { nc.Code = crypto.Receipt{} }()
	return s.render(c, fiber.StatusOK, frontend.PageReceipt, s.receiptData(c, nc))
}

// handleReceiptForget is GET /report/receipt/forget.css, an empty stylesheet that the follow-up
// login page loads: its answer replaces the token in a receipt cookie by receiptShown. Like the
// logout's (handleLogoutClear), the cookie change comes after the receipt page was left, so
// Chromium drops that page from its back/forward cache instead of showing the code again on
// Back; the page then says that the code was shown.
func (s *Server) handleReceiptForget(c *fiber.Ctx) error {
	if c.Cookies(receiptCookie) != "" {
		c.Cookie(&fiber.Cookie{Name: receiptCookie, Value: receiptShown, Path: receiptPagePath, HTTPOnly: true, SameSite: "Strict"})
	}
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	return c.SendString("/* receipt forgotten */\n")
}

func (s *Server) receiptData(c *fiber.Ctx, nc *cases.NewCase) frontend.ReceiptData {
	ack, feedback := installation.DueDates(nc.Received, 0)
	return frontend.ReceiptData{
		Page: s.page(c), Code: nc.Code.String(), LogIndex: nc.Index, Checkpoint: string(nc.Witnessed),
		Witnessed: nc.Size, AckDue: ack, FeedbackDue: feedback,
	}
}

// refuseReport answers a refused submission: the report form again, with what the reporter
// typed (from this request's memory only) and the problem next to its field. When nothing could
// be read, or the report was already received, it is the error page.
func (s *Server) refuseReport(c *fiber.Ctx, u *upload, err error) error {
	pe := s.refusal(err)
	if u == nil || pe.key == frontend.ErrorAlreadyReceived {
		if u != nil {
			u.skim()
		}
		return s.errorPage(c, pe)
	}
	if u.claimed {
		s.tokens.release(u.token)
	}
	kept := u.keep()
	kept.Problems = []frontend.Problem{s.fe.Problem(s.page(c), pe.key, s.limits.frontend())}
	cat := ""
	if u.form.Category != nil {
		cat = *u.form.Category
	}
	return s.renderReport(c, pe.key.Status(), cat, kept)
}

// refuseBusy answers a report that found every upload slot taken: the form again with what was
// typed if a keep slot is free, else the plain busy page.
func (s *Server) refuseBusy(c *fiber.Ctx, busy error) error {
	u, done := s.keepSlot(c)
	if u == nil {
		return busy
	}
	defer done()
	return s.refuseReport(c, u, busy)
}

// keepSlot opens the upload of a request refused before it could take an upload slot (busy, or
// its session expired), so that what was typed can be shown again, if one of the keep slots (as
// many as upload slots) is free; done gives it back. It returns nil when none is free.
func (s *Server) keepSlot(c *fiber.Ctx) (u *upload, done func()) {
	select {
	case s.keepSlots <- struct{}{}:
	default:
		return nil, nil
	}
	u, _ = s.openUpload(c, nil) // reads text fields and names only: no memory reservation to grow
	if u == nil {
		<-s.keepSlots
		return nil, nil
	}
	return u, func() { u.close(); <-s.keepSlots }
}
