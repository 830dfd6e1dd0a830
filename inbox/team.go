package inbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/crypto"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/frame"
)

// Errors of team work. They wrap with details; test with errors.Is.
var (
	// ErrNotReviewer: a fingerprint that is not a reviewer of the case (assign) or not a
	// registered reviewer of the installation (share, intake).
	ErrNotReviewer = errors.New("inbox: not a reviewer")
	// ErrAlreadyOnCase: sharing a case with a reviewer who is on it already.
	ErrAlreadyOnCase = errors.New("inbox: the reviewer is on the case already")
	// ErrNoReason: an early deletion without a reason.
	ErrNoReason = errors.New("inbox: an early deletion needs a reason")
	// ErrDeleted: the case was deleted; nothing more can be done with it.
	ErrDeleted = errors.New("inbox: the case was deleted")
)

// teamState is what the inbox derives for a case from its verified signed changes and blobs at
// every import (DESIGN §12), plus what it did with the case locally (Exports).
type teamState struct {
	Assignee      string  `json:"assignee,omitempty"`       // the lead's fingerprint
	Outcome       string  `json:"outcome,omitempty"`        // the outcome of the closing in effect
	FeedbackGiven day.Day `json:"feedback_given,omitempty"` // the server day of the first feedback reply
	Intake        bool    `json:"intake,omitempty"`         // recorded by a reviewer (oral report)
	// Signed are the case's verified signed changes in the order the server applied them.
	Signed []signedChange `json:"signed,omitempty"`
	// Deletion, once a logged deletion was imported: who and when, and the reviewer's sealed
	// reason for an early deletion.
	DeletedBy    string  `json:"deleted_by,omitempty"`
	DeletedOn    day.Day `json:"deleted_on,omitempty"`
	DeleteReason []byte  `json:"delete_reason,omitempty"` // an age file sealed to the reviewers
	// Exports are the directories and files Export wrote, listed again when the case is deleted
	// so that the reviewer can destroy them.
	Exports []string `json:"exports,omitempty"`
}

// signedChange is one verified signed change, kept for the case file and the statistics.
type signedChange struct {
	Kind   string  `json:"kind"`
	Author string  `json:"author"`
	Seq    uint64  `json:"seq"`
	Day    day.Day `json:"day"` // the reviewer's signed day
	Value  string  `json:"value,omitempty"`
}

// Note seals text to the case's reviewers only — never to the reporter — signs it into a note
// envelope and queues it for the next outbox.
func (in *Inbox) Note(prefix, text string) error {
	c, body, err := in.sealForReviewers(prefix, text)
	if err != nil {
		return err
	}
	if len(body) > envelope.MaxBodyLen {
		return fmt.Errorf("inbox: note of %d bytes is larger than %d bytes", len(body), envelope.MaxBodyLen)
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindNote, Case: caseID(c), Body: body})
}

// Assign queues a signed assignment of the case's lead: who is a fingerprint of a reviewer on the
// case, "me" (this reviewer) or "none" (nobody leads it).
func (in *Inbox) Assign(prefix, who string) error {
	c, err := in.openCase(prefix)
	if err != nil {
		return err
	}
	target := ""
	switch who {
	case "none":
	case "me":
		target = in.fp
	default:
		if target, err = crypto.ParseFingerprint(who); err != nil {
			return fmt.Errorf("%w: %w", ErrNotReviewer, err)
		}
	}
	if target != "" && !slices.Contains(c.Reviewers, target) {
		return fmt.Errorf("%w: %s is not a reviewer of case %s", ErrNotReviewer, target, c.ID)
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindAssign, Case: caseID(c), Target: target})
}

// Feedback is Reply marked as the Directive's feedback (Art. 9(1)(f)): once the server applies it,
// the case is no longer overdue for feedback, and the reporter's page says "feedback given on DAY".
func (in *Inbox) Feedback(prefix, text string, files []Attachment) error {
	return in.reply(prefix, text, files, true)
}

// CloseCase queues a signed status change to closed with outcome, one of envelope.Outcomes(). Closing
// without an outcome fails with an error wrapping envelope.ErrNoOutcome.
func (in *Inbox) CloseCase(prefix, outcome string) error {
	if err := envelope.CheckOutcome(outcome); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	c, err := in.openCase(prefix)
	if err != nil {
		return err
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindStatus, Case: caseID(c),
		Status: envelope.StatusClosed, Outcome: outcome})
}

// Delete queues a signed early deletion of the case (spam, clearly irrelevant data: Art. 17 GDPR)
// with reason sealed to the case's reviewers. The server deletes the case and logs the deletion;
// every inbox purges it at its next import.
func (in *Inbox) Delete(prefix, reason string) error {
	if len(bytes.TrimSpace([]byte(reason))) == 0 {
		return ErrNoReason
	}
	c, body, err := in.sealForReviewers(prefix, reason)
	if err != nil {
		return err
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindDelete, Case: caseID(c), Body: body})
}

// sealForReviewers finds the open case (openCase) and seals text to its reviewers only.
func (in *Inbox) sealForReviewers(prefix, text string) (*caseRecord, []byte, error) {
	c, err := in.openCase(prefix)
	if err != nil {
		return nil, nil, err
	}
	rs, err := in.reviewerRecipients(c.Reviewers)
	if err != nil {
		return nil, nil, err
	}
	var body bytes.Buffer
	if err := seal(&body, rs, text, nil); err != nil {
		return nil, nil, err
	}
	return c, body.Bytes(), nil
}

// openCase finds a case that is still open to work on: not deleted, not missing.
func (in *Inbox) openCase(prefix string) (*caseRecord, error) {
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return nil, err
	}
	if c.Deleted {
		return nil, fmt.Errorf("%w: case %s", ErrDeleted, c.ID)
	}
	return c, nil
}

// reviewerRecipients returns the age recipients of the reviewers fps from their cards.
func (in *Inbox) reviewerRecipients(fps []string) ([]age.Recipient, error) {
	var rs []age.Recipient
	err := in.db.View(func(tx *bolt.Tx) error {
		for _, fp := range fps {
			card, err := cardOf(tx, fp)
			if err != nil {
				return err
			}
			rs = append(rs, card.Recipient())
		}
		return nil
	})
	return rs, err
}

// cardOf returns the stored card of fp, checked against its fingerprint.
func cardOf(tx *bolt.Tx, fp string) (*crypto.Card, error) {
	b := tx.Bucket(bucketCards).Get([]byte(fp))
	if b == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoCard, fp)
	}
	card, err := crypto.ParseCard(b)
	if err != nil || card.Fingerprint() != fp {
		return nil, fmt.Errorf("%w: %s", ErrNoCard, fp)
	}
	return card, nil
}

// writeTeam writes the case's lead, outcome, feedback day, origin and deletion (with the
// decrypted reason of an early deletion) for Read.
func writeTeam(w io.Writer, c *caseRecord, names names, id age.Identity) {
	t := c.Team
	if t.Intake {
		fmt.Fprintf(w, "recorded by a reviewer (oral report)\n")
	}
	if t.Assignee != "" {
		fmt.Fprintf(w, "lead: %s\n", names.of(t.Assignee))
	}
	if t.FeedbackGiven != 0 {
		fmt.Fprintf(w, "feedback given: %s\n", t.FeedbackGiven)
	}
	if t.Outcome != "" {
		fmt.Fprintf(w, "outcome: %s\n", t.Outcome)
	}
	if !c.Deleted {
		return
	}
	fmt.Fprintf(w, "DELETED on %s by %s; its messages were purged from this inbox\n", t.DeletedOn, names.of(t.DeletedBy))
	if len(t.DeleteReason) > 0 {
		fmt.Fprintf(w, "reason: %s\n", decryptText(t.DeleteReason, id))
	}
}

// decryptText returns the message part of a small sealed frame stream, cleaned for a terminal,
// or a note saying it could not be read.
func decryptText(file []byte, id age.Identity) string {
	pt, err := age.Decrypt(bytes.NewReader(file), id)
	if err != nil {
		return "(cannot be decrypted with this inbox's key)"
	}
	fr := frame.NewReader(pt)
	p, err := fr.Next()
	if err != nil || p.Kind != frame.KindMessage {
		return "(unreadable)"
	}
	var sb strings.Builder
	if _, err := io.Copy(&sb, io.LimitReader(fr, 1<<20)); err != nil {
		return "(unreadable)"
	}
	return clean(sb.String())
}

// recordExports remembers the files Export wrote for a case, so that its deletion can list them.
func (in *Inbox) recordExports(id, dir string, names []string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return in.db.Update(func(tx *bolt.Tx) error {
		c, err := findCase(tx, id)
		if err != nil {
			return err
		}
		for _, n := range names {
			if p := filepath.Join(abs, n); !slices.Contains(c.Team.Exports, p) {
				c.Team.Exports = append(c.Team.Exports, p)
			}
		}
		return putJSON(tx.Bucket(bucketCases), caseKey(c), c)
	})
}

func caseKey(c *caseRecord) []byte {
	id := caseID(c)
	return id[:]
}
