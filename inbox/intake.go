package inbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"

	"filippo.io/age"

	"candor/crypto"
	"candor/internal/envelope"
	"candor/internal/leaf"
)

// IntakeOptions describes an oral report (a phone call or a meeting, Art. 9(2) and 18 of the
// Directive) that a reviewer records offline.
type IntakeOptions struct {
	Category string // the category ID; "" = the installation's default category
	Text     string // the transcript or minutes
	Files    []Attachment
	// Reviewers who may read the case (fingerprints, as the reporter chose them); empty = every
	// registered reviewer. This reviewer is always added.
	Reviewers []string
}

// IntakeResult is what Intake made: the new case's ID and the receipt code to hand to the
// reporter — shown once, kept nowhere.
type IntakeResult struct {
	Case    string
	Receipt crypto.Receipt
}

// Intake records an oral report as a new case. It draws a receipt code (crypto.NewReceipt),
// derives the reporter's key from it exactly as the server does at login (Argon2id under the
// installation's salt and parameters from the latest installation record), seals the transcript
// to the reporter and the case's reviewers — so that the reporter can read the record and agree
// with it or ask for a correction — and queues a signed intake envelope; the server creates the
// case at the next push. Neither the receipt code nor the transcript is stored.
func (in *Inbox) Intake(opt IntakeOptions) (*IntakeResult, error) {
	inst, err := in.installation()
	if err != nil {
		return nil, err
	}
	reviewers, err := in.intakeReviewers(opt.Reviewers, inst.Reviewers)
	if err != nil {
		return nil, err
	}
	receipt, err := crypto.NewReceipt(rand.Reader)
	if err != nil {
		return nil, err
	}
	d, err := crypto.NewDeriver(inst.Salt, crypto.KDFParams{Memory: inst.Memory, Time: inst.Time, Threads: inst.Threads}, 1)
	if err != nil {
		return nil, fmt.Errorf("inbox: the installation's receipt parameters: %w", err)
	}
	key, err := d.Derive(context.Background(), receipt)
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	ib := &envelope.IntakeBody{Category: opt.Category, Lookup: key.Lookup, Reporter: key.Recipient().String(),
		Reviewers: reviewers}
	e, err := in.intakeEnvelope(ib, key.Recipient(), opt)
	if err != nil {
		return nil, err
	}
	if err := in.queue(e); err != nil {
		return nil, err
	}
	return &IntakeResult{Case: hex.EncodeToString(e.Case[:]), Receipt: receipt}, nil
}

// intakeReviewers checks the chosen reviewers against the registered ones and adds this reviewer.
func (in *Inbox) intakeReviewers(chosen, registered []string) ([]string, error) {
	if len(chosen) == 0 {
		chosen = registered
	}
	var out []string
	for _, who := range append(slices.Clone(chosen), in.fp) {
		fp, err := crypto.ParseFingerprint(who)
		if err != nil || !slices.Contains(registered, fp) {
			return nil, fmt.Errorf("%w: %.64q is not a registered reviewer of the installation", ErrNotReviewer, who)
		}
		out = append(out, fp)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// intakeEnvelope seals the transcript, commits to the recipient set and builds the envelope.
func (in *Inbox) intakeEnvelope(ib *envelope.IntakeBody, reporter age.Recipient, opt IntakeOptions) (*envelope.Envelope, error) {
	rs, err := in.reviewerRecipients(ib.Reviewers)
	if err != nil {
		return nil, err
	}
	var transcript bytes.Buffer
	if err := seal(&transcript, append([]age.Recipient{reporter}, rs...), opt.Text, opt.Files); err != nil {
		return nil, err
	}
	ib.Transcript = transcript.Bytes()
	if ib.Salt, err = leaf.NewSalt(rand.Reader); err != nil {
		return nil, err
	}
	set := leaf.RecipientSet{Reporter: ib.Reporter, Reviewers: ib.Reviewers}
	commitment, err := set.Commit(&ib.Salt)
	if err != nil {
		return nil, err
	}
	body, err := ib.Marshal()
	if err != nil {
		return nil, err
	}
	if len(body) > envelope.MaxBodyLen {
		return nil, fmt.Errorf("inbox: intake of %d bytes is larger than %d bytes", len(body), envelope.MaxBodyLen)
	}
	e := &envelope.Envelope{Kind: envelope.KindIntake, Commitment: commitment, Body: body}
	if _, err := rand.Read(e.Case[:]); err != nil {
		return nil, err
	}
	return e, nil
}
