package inbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/crypto"
	"candor/internal/bundle"
	"candor/internal/envelope"
	"candor/internal/leaf"
)

// ErrNoInstallation: the inbox has not imported a bundle that describes the installation (its
// registered reviewers and receipt derivation parameters).
var ErrNoInstallation = errors.New("inbox: no installation record yet: import a bundle pulled from the current server")

// ErrTooLargeToShare: the re-wrapped headers of a case do not fit one share envelope.
var ErrTooLargeToShare = errors.New("inbox: the case has too many messages to share in one envelope")

// maxShareBody keeps a share envelope within what a bundle's Change record can carry.
const maxShareBody = bundle.MaxRecordLen - 16<<10

// Share gives the registered reviewer who (a fingerprint) access to the case: for every blob of
// the case it opens the blob's file key with this reviewer's identity and wraps it, in a new age
// header, to the new recipient set — the case's reviewers and who, plus the reporter for replies —
// without re-encrypting the payload (crypto.Rewrap). It signs a share envelope carrying the new
// headers and the new set's commitment (leaf.RecipientSet.Commit under a new salt, which the
// share body carries) and queues it. A removed or unknown reviewer is refused (ErrNotReviewer), as is one already on the
// case (ErrAlreadyOnCase).
func (in *Inbox) Share(prefix, who string) error {
	c, err := in.openCase(prefix)
	if err != nil {
		return err
	}
	target, err := in.registered(who)
	if err != nil {
		return err
	}
	if slices.Contains(c.Reviewers, target) {
		return fmt.Errorf("%w: %s, case %s", ErrAlreadyOnCase, target, c.ID)
	}
	set := leaf.RecipientSet{Reporter: c.ReporterRecipient, Reviewers: append(slices.Clone(c.Reviewers), target)}
	salt, err := leaf.NewSalt(rand.Reader)
	if err != nil {
		return err
	}
	commitment, err := set.Commit(&salt)
	if err != nil {
		return fmt.Errorf("inbox: the case's new recipient set: %w", err)
	}
	body, err := in.rewrapAll(c, set, salt)
	if err != nil {
		return err
	}
	return in.queue(&envelope.Envelope{Kind: envelope.KindShare, Case: caseID(c), Target: target,
		Commitment: commitment, Body: body})
}

// registered returns the canonical fingerprint of who if it names a reviewer registered on the
// server (per the latest installation record) whose card the inbox holds.
func (in *Inbox) registered(who string) (string, error) {
	fp, err := crypto.ParseFingerprint(who)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotReviewer, err)
	}
	inst, err := in.installation()
	if err != nil {
		return "", err
	}
	if !inst.HasReviewer(fp) {
		return "", fmt.Errorf("%w: %s is not a registered reviewer of the installation (removed or unknown)", ErrNotReviewer, fp)
	}
	return fp, nil
}

// installation returns the latest installation record the inbox imported.
func (in *Inbox) installation() (*bundle.Installation, error) {
	var inst bundle.Installation
	var ok bool
	err := in.db.View(func(tx *bolt.Tx) (err error) {
		ok, err = getJSON(tx.Bucket(bucketMeta), metaInstall, &inst)
		return err
	})
	if err == nil && !ok {
		err = ErrNoInstallation
	}
	return &inst, err
}

// rewrapAll re-wraps every blob of c to set and returns the encoded share body.
func (in *Inbox) rewrapAll(c *caseRecord, set leaf.RecipientSet, salt [leaf.SaltSize]byte) ([]byte, error) {
	id, err := in.Identity()
	if err != nil {
		return nil, err
	}
	reviewers, err := in.reviewerRecipients(set.Reviewers)
	if err != nil {
		return nil, err
	}
	reporter, err := crypto.ParseRecipients([]string{set.Reporter})
	if err != nil {
		return nil, fmt.Errorf("inbox: the case's reporter recipient: %w", err)
	}
	sb := envelope.ShareBody{Salt: salt}
	for _, bid := range c.Blobs {
		rs := reviewers
		b, err := in.blob(bid)
		if err != nil {
			return nil, err
		}
		if b.Kind == "reply" {
			rs = append(slices.Clone(reporter), reviewers...)
		}
		r, err := in.rewrapOne(bid, id, rs)
		if err != nil {
			return nil, err
		}
		sb.Blobs = append(sb.Blobs, r)
	}
	slices.SortFunc(sb.Blobs, func(a, b envelope.Rewrapped) int { return bytes.Compare(a.Blob[:], b.Blob[:]) })
	body, err := sb.Marshal()
	if err == nil && len(body) > maxShareBody {
		err = fmt.Errorf("%w (%d bytes of headers, limit %d)", ErrTooLargeToShare, len(body), maxShareBody)
	}
	return body, err
}

func (in *Inbox) rewrapOne(bid string, id age.Identity, rs []age.Recipient) (envelope.Rewrapped, error) {
	f, err := in.openBlob(bid)
	if err != nil {
		return envelope.Rewrapped{}, err
	}
	defer f.Close()
	header, _, err := crypto.SplitHeader(f)
	if err != nil {
		return envelope.Rewrapped{}, fmt.Errorf("inbox: blob %s: %w", bid, err)
	}
	nh, err := crypto.Rewrap(header, id, rs)
	if err != nil {
		return envelope.Rewrapped{}, fmt.Errorf("inbox: blob %s cannot be re-wrapped with this inbox's key: %w", bid, err)
	}
	raw, _ := hex.DecodeString(bid)
	return envelope.Rewrapped{Blob: [16]byte(raw), Header: nh}, nil
}
