package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"filippo.io/age"
	"github.com/gofiber/fiber/v2"

	"candor/crypto"
	"candor/frontend"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

func (s *Server) handleReportForm(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, frontend.PageReport, frontend.ReportData{
		Page: s.page(c), Categories: s.currentSettings().frontendCategories(), Selected: c.Query(fieldCategory),
		Reviewers: s.frontendReviewers(), Limits: s.limits.frontend(),
	})
}

// handleReport is POST /report: the streamed submission, then the receipt page.
func (s *Server) handleReport(c *fiber.Ctx) error {
	release, err := s.acquireUpload()
	if err != nil {
		return err
	}
	defer release()
	var category string
	var chosen []string
	sl, err := s.readUpload(c, func(f *form) ([]age.Recipient, error) {
		cat, err := s.chooseCategory(f)
		if err != nil {
			return nil, err
		}
		category = cat.ID
		var rs []age.Recipient
		chosen, rs, err = s.chooseReviewers(f)
		return rs, err
	})
	if err != nil {
		return err
	}
	nc, err := s.createCase(c.UserContext(), sl, category, chosen)
	if err != nil {
		if aerr := sl.blob.Abort(); aerr != nil {
			s.log.Error("aborting upload", "err", aerr)
		}
		return err
	}
	ack, feedback := deadlines(nc.received, 0)
	return s.render(c, fiber.StatusOK, frontend.PageReceipt, frontend.ReceiptData{
		Page: s.page(c), Code: nc.code.String(), LogIndex: nc.index, Checkpoint: string(nc.checkpoint),
		AckDue: ack, FeedbackDue: feedback,
	})
}

// chooseCategory returns the form's category (the default one if absent) and formats its answers
// into f.answersText; answers to questions the category does not ask are dropped.
func (s *Server) chooseCategory(f *form) (Category, error) {
	id := DefaultCategory
	if f.category != nil && *f.category != "" {
		id = *f.category
	}
	cat, ok := s.currentSettings().category(id)
	if !ok {
		return Category{}, pageErr(frontend.ErrorUnknownCategory, nil)
	}
	var b strings.Builder
	for _, q := range cat.Fields {
		v := strings.TrimSpace(f.answers[q.ID])
		if v == "" {
			continue
		}
		// One "label: value" line; line breaks inside the value continue with "\n " (internal/frame).
		fmt.Fprintf(&b, "%s: %s\n", q.Label, strings.ReplaceAll(v, "\n", "\n "))
	}
	f.answersText = b.String()
	return cat, nil
}

// chooseReviewers returns the fingerprints and recipients of the reviewers the form chose: every
// registered reviewer when the form sent no reviewer field and offered no choice (a scripted
// client), else exactly those ticked. Unknown fingerprints and an empty choice are refused.
func (s *Server) chooseReviewers(f *form) ([]string, []age.Recipient, error) {
	all, err := s.reviewers()
	if err != nil {
		return nil, nil, err
	}
	if len(all) == 0 {
		return nil, nil, errors.New("no reviewer is registered")
	}
	byFP := make(map[string]reviewer, len(all))
	for _, r := range all {
		byFP[r.fp] = r
	}
	var picked []reviewer
	switch {
	case len(f.reviewers) == 0 && f.reviewerChoice:
		return nil, nil, pageErr(frontend.ErrorNoReviewer, nil)
	case len(f.reviewers) == 0:
		picked = all
	default:
		seen := map[string]bool{}
		for _, v := range f.reviewers {
			fp, err := crypto.ParseFingerprint(v)
			r, ok := byFP[fp]
			if err != nil || !ok {
				return nil, nil, pageErr(frontend.ErrorUnknownReviewer, nil)
			}
			if !seen[fp] {
				seen[fp] = true
				picked = append(picked, r)
			}
		}
	}
	fps := make([]string, len(picked))
	rs := make([]age.Recipient, len(picked))
	for i, r := range picked {
		fps[i], rs[i] = r.fp, r.card.Recipient()
	}
	return fps, rs, nil
}

// newCase is what the receipt page shows.
type newCase struct {
	code       crypto.Receipt
	received   day.Day
	index      int64
	checkpoint []byte
}

// createCase draws the receipt code, derives the reporter key, and stores the case with its
// CaseCreated log entry in one transaction, committing sl.
func (s *Server) createCase(ctx context.Context, sl *sealed, category string, reviewers []string) (*newCase, error) {
	code, err := crypto.NewReceipt(rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := s.derive(ctx, code)
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	today := day.FromTime(s.now())
	var id store.CaseID
	rand.Read(id[:])
	e, err := (&logentry.Entry{Type: logentry.CaseCreated, Day: today, Case: id, Actor: store.AuthorReporter,
		Subject: LookupSubject(key.Lookup)}).Marshal()
	if err != nil {
		return nil, err
	}
	cs := &store.Case{ID: id, Category: category, Received: today, Status: frontend.StatusReceived,
		Reviewers: reviewers, ReporterRecipient: key.Recipient().String(), Lookup: key.Lookup,
		Messages: []store.Message{{Blob: sl.id, Kind: store.KindReport, Author: store.AuthorReporter, Day: today}}}
	idx, err := s.st.CreateCase(cs, []store.BlobID{sl.id}, [][]byte{e})
	if err != nil {
		return nil, fmt.Errorf("creating case: %w", err)
	}
	cp, err := s.signedCheckpoint()
	if err != nil {
		s.log.Error("signing checkpoint", "err", err) // the case is stored; show the receipt anyway
	}
	return &newCase{code: code, received: today, index: idx[0], checkpoint: cp}, nil
}

// derive runs one Argon2id derivation, waiting at most KDFWait for a free slot (then: busy).
//
// Each derivation allocates KDF.Memory (64 MiB by default) that is garbage when it returns. Left
// to the garbage collector, that memory stays in the process and the next upload's buffers stack
// on top of it, and the derivation at the end of an upload would stack on the upload's garbage.
// So the first derivation to start and the last to finish return free memory to the operating
// system at once (a full collection of a small heap: about a millisecond). Under a flood of
// logins, derivations overlap and the collector's goal (GOGC) lets garbage of finished ones
// accumulate up to the soft limit MemoryBudget (forcing a collection per derivation instead
// halved the logins served).
func (s *Server) derive(ctx context.Context, r crypto.Receipt) (*crypto.ReporterKey, error) {
	ctx, cancel := context.WithTimeout(ctx, s.limits.KDFWait)
	defer cancel()
	if s.kdfActive.Add(1) == 1 {
		debug.FreeOSMemory() // the upload's garbage, before 64 MiB more
	}
	defer func() {
		if s.kdfActive.Add(-1) == 0 {
			debug.FreeOSMemory()
		}
	}()
	key, err := s.deriver.Derive(ctx, r)
	if err != nil {
		if ctx.Err() != nil {
			return nil, pageErr(frontend.ErrorBusy, nil)
		}
		return nil, err
	}
	return key, nil
}
