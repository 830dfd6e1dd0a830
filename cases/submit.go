package cases

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"filippo.io/age"

	"candor/crypto"
	"candor/frontend"
	"candor/installation"
	"candor/internal/day"
	"candor/internal/leaf"
	"candor/internal/logentry"
	"candor/server/store"
)

// ChooseCategory returns the form's category (the default one if absent) and formats its answers
// into f.answersText; answers to questions the category does not ask are dropped.
func (s *Service) ChooseCategory(f *Form) (installation.Category, error) {
	id := installation.DefaultCategory
	if f.Category != nil && *f.Category != "" {
		id = *f.Category
	}
	cat, ok := s.CurrentSettings().Category(id)
	if !ok {
		return installation.Category{}, ErrUnknownCategory
	}
	var b strings.Builder
	for _, q := range cat.Fields {
		v := strings.TrimSpace(f.Answers[q.ID])
		if v == "" {
			continue
		}
		// One "label: value" line; line breaks inside the value continue with "\n " (internal/frame).
		fmt.Fprintf(&b, "%s: %s\n", q.Label, strings.ReplaceAll(v, "\n", "\n "))
	}
	f.AnswersText = b.String()
	return cat, nil
}

// ChooseReviewers returns the fingerprints and recipients of the reviewers the form chose: every
// registered reviewer when the form sent no reviewer field and offered no choice (a scripted
// client), else exactly those ticked. Unknown fingerprints and an empty choice are refused.
func (s *Service) ChooseReviewers(f *Form) ([]string, []age.Recipient, error) {
	all, err := s.Reviewers()
	if err != nil {
		return nil, nil, err
	}
	if len(all) == 0 {
		return nil, nil, errors.New("no reviewer is registered")
	}
	byFP := make(map[string]Reviewer, len(all))
	for _, r := range all {
		byFP[r.Fingerprint] = r
	}
	var picked []Reviewer
	switch {
	case len(f.Reviewers) == 0 && f.ReviewerChoice:
		return nil, nil, ErrNoReviewer
	case len(f.Reviewers) == 0:
		picked = all
	default:
		seen := map[string]bool{}
		for _, v := range f.Reviewers {
			fp, err := crypto.ParseFingerprint(v)
			r, ok := byFP[fp]
			if err != nil || !ok {
				return nil, nil, ErrUnknownReviewer
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
		fps[i], rs[i] = r.Fingerprint, r.Card.Recipient()
	}
	return fps, rs, nil
}

// NewCase is what the receipt page shows: the receipt code, the case's CaseCreated entry, and
// the latest checkpoint the witnesses cosigned (nil if none yet).
type NewCase struct {
	Code      crypto.Receipt
	Received  day.Day
	Index     int64
	Witnessed []byte // the latest cosigned checkpoint note
	Size      int64  // its tree size (the entry is covered if Index < Size)
}

// CreateCase draws the receipt code, derives the reporter key, and stores the case with its
// CaseCreated log entry in one transaction, committing sl. The entry's Subject commits to the
// case's recipients (the reporter's recipient and reviewers, leaf.RecipientSet, under a fresh
// salt kept with the case); its Value is the LookupValue of the receipt.
func (s *Service) CreateCase(ctx context.Context, sl *Sealed, category string, reviewers []string) (*NewCase, error) {
	code, key, err := s.receipt(ctx)
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	today := day.FromTime(s.now())
	var id store.CaseID
	rand.Read(id[:])
	salt, err := leaf.NewSalt(rand.Reader)
	if err != nil {
		return nil, err
	}
	set := leaf.RecipientSet{Reporter: key.Recipient().String(), Reviewers: reviewers}
	commitment, err := set.Commit(&salt)
	if err != nil {
		return nil, err
	}
	e, err := (&logentry.Entry{Type: logentry.CaseCreated, Day: today, Case: id, Actor: store.AuthorReporter,
		Subject: commitment, Value: LookupValue(LookupSubject(key.Lookup))}).Marshal()
	if err != nil {
		return nil, err
	}
	cs := &store.Case{ID: id, Category: category, Received: today, Status: frontend.StatusReceived,
		Reviewers: reviewers, ReporterRecipient: set.Reporter, Lookup: key.Lookup, Salt: salt,
		Messages: []store.Message{{Blob: sl.ID, Kind: store.KindReport, Author: store.AuthorReporter, Day: today}}}
	idx, err := s.st.CreateCase(cs, []store.BlobID{sl.ID}, [][]byte{e})
	if err != nil {
		return nil, fmt.Errorf("creating case: %w", err)
	}
	nc := &NewCase{Code: code, Received: today, Index: idx[0]}
	if ws, err := installation.LoadWitnessState(s.st, s.keys.Origin); err != nil {
		s.log.Error("reading the witnesses' state", "err", err) // the case is stored; show the receipt anyway
	} else if ws.LastNote != nil {
		nc.Witnessed, nc.Size = ws.LastNote, ws.Witnessed
	}
	s.notifyAppended()
	return nc, nil
}

// readyReceipt is a receipt code drawn and derived before a submission needs it.
type readyReceipt struct {
	code crypto.Receipt
	key  *crypto.ReporterKey
}

// newReceipt draws a receipt code and derives its reporter key in the receipts' slots.
func (s *Service) newReceipt(ctx context.Context) (readyReceipt, error) {
	code, err := crypto.NewReceipt(rand.Reader)
	if err != nil {
		return readyReceipt{}, err
	}
	key, err := s.derive(ctx, s.receipts, receiptWait, code)
	if err != nil {
		return readyReceipt{}, err
	}
	return readyReceipt{code, key}, nil
}

// receipt returns a new receipt code and its reporter key: one derived ahead if there is one
// (and starts deriving its successor), else one derived now.
func (s *Service) receipt(ctx context.Context) (crypto.Receipt, *crypto.ReporterKey, error) {
	select {
	case r := <-s.ahead:
		s.refill()
		return r.code, r.key, nil
	default:
	}
	r, err := s.newReceipt(ctx)
	return r.code, r.key, err
}

// refill derives one receipt ahead in the background (Config.ReceiptsAhead).
func (s *Service) refill() {
	s.refills.Add(1)
	go func() {
		defer s.refills.Done()
		r, err := s.newReceipt(context.Background())
		if err != nil {
			s.log.Error("deriving a receipt ahead", "err", err) // the next submission derives its own
			return
		}
		select {
		case s.ahead <- r:
		default:
			r.key.Wipe()
		}
	}()
}

// PrepareReceipts derives Config.ReceiptsAhead receipts before the server takes submissions, so
// that even the first gets its receipt without waiting for Argon2id.
func (s *Service) PrepareReceipts(ctx context.Context) error {
	for len(s.ahead) < cap(s.ahead) {
		r, err := s.newReceipt(ctx)
		if err != nil {
			return err
		}
		select {
		case s.ahead <- r:
		default:
			r.key.Wipe()
			return nil
		}
	}
	return nil
}

// ReceiptsReady returns how many receipts derived ahead are waiting for a submission.
func (s *Service) ReceiptsReady() int { return len(s.ahead) }

// WipeReceipts waits for the receipts being derived ahead and wipes every unused one (when the
// server stops: an unused receipt belongs to no case, but its key is still a secret).
func (s *Service) WipeReceipts() {
	s.refills.Wait()
	for {
		select {
		case r := <-s.ahead:
			r.key.Wipe()
		default:
			return
		}
	}
}

// Derive runs one Argon2id derivation for a login, in the logins' slots, waiting at most KDFWait
// for a free one (then: busy). New receipts (CreateCase) derive in slots of their own.
//
// Each derivation allocates KDF.Memory (64 MiB by default) that is garbage when it returns. Left
// to the garbage collector, that memory stays in the process and the next upload's buffers stack
// on top of it, and the derivation at the end of an upload would stack on the upload's garbage.
// So the first derivation to start and the last to finish return free memory to the operating
// system at once (a full collection of a small heap: about a millisecond). Under a flood of
// logins, derivations overlap and the collector's goal (GOGC) lets garbage of finished ones
// accumulate up to the soft limit MemoryBudget (forcing a collection per derivation instead
// halved the logins served).
func (s *Service) Derive(ctx context.Context, r crypto.Receipt) (*crypto.ReporterKey, error) {
	return s.derive(ctx, s.deriver, s.kdfWait, r)
}

// receiptWait bounds the wait of a new receipt for one of its reserved slots: far longer than any
// queue of submissions can take (each derivation takes about a second), so in practice never.
const receiptWait = 10 * time.Minute

func (s *Service) derive(ctx context.Context, d *crypto.Deriver, wait time.Duration, r crypto.Receipt) (*crypto.ReporterKey, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if s.kdfActive.Add(1) == 1 {
		debug.FreeOSMemory() // the upload's garbage, before 64 MiB more
	}
	defer func() {
		if s.kdfActive.Add(-1) == 0 {
			debug.FreeOSMemory()
		}
	}()
	key, err := d.Derive(ctx, r)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ErrBusy
		}
		return nil, err
	}
	return key, nil
}
