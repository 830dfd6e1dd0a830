package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"filippo.io/age"

	"candor/internal/bundle"
	"candor/internal/leaf"
	"candor/internal/logentry"
)

// openSealed decrypts the sealed addressing key with the reviewer's identity.
func openSealed(k *bundle.SealedKey, id age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytesReader(k.Age), id)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(r, leaf.KeySize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) != leaf.KeySize {
		return nil, fmt.Errorf("a key of %d bytes", len(raw))
	}
	return raw, nil
}

// committed returns the commitment in force for a case: logentry.Commitment over its new
// entries, starting from the commitment the inbox stored (hex; "" if none), with the shares that
// verified approves.
func committed(stored string, entries []*logentry.Entry, verified func(*logentry.Entry) bool) ([32]byte, bool) {
	prev, err := hex.DecodeString(stored)
	if err != nil || len(prev) != sha256.Size {
		return logentry.Commitment(entries, verified)
	}
	start := &logentry.Entry{Type: logentry.CaseCreated, Subject: [32]byte(prev)}
	return logentry.Commitment(append([]*logentry.Entry{start}, entries...), verified)
}

// sharesOf returns the approval of a bundle's share entries: a share entry counts if the bundle
// carries a signed share of that case with that commitment (checkChanges verified its signature).
func sharesOf(p *parsed) func(*logentry.Entry) bool {
	return func(e *logentry.Entry) bool {
		for _, c := range p.changes {
			if c.Kind == bundle.ChangeShare && c.Case == e.Case && c.Commitment == e.Subject {
				return true
			}
		}
		return false
	}
}

// checkRecipients refuses a case record whose reporter recipient and reviewers are not the set
// its log entries commit to: an admin who edits the record to read later replies, or to let an
// excluded reviewer read them, is caught here.
func (in *Inbox) checkRecipients(p *parsed, lv *logView) error {
	byCase := map[[16]byte][]*logentry.Entry{}
	for _, a := range lv.entries {
		if a.entry != nil && a.entry.Case != ([16]byte{}) {
			byCase[a.entry.Case] = append(byCase[a.entry.Case], a.entry)
		}
	}
	for _, c := range p.cases {
		if c.Deleted {
			continue
		}
		id := hex.EncodeToString(c.ID[:])
		stored, err := in.storedCommitment(c.ID)
		if err != nil {
			return err
		}
		want, ok := committed(stored, byCase[c.ID], sharesOf(p))
		if !ok {
			return fmt.Errorf("%w: case %s: no log entry that created it was ever delivered to you, so who "+
				"may read it cannot be checked (nothing imported)", ErrWithheld, id)
		}
		set := leaf.RecipientSet{Reporter: c.ReporterRecipient, Reviewers: c.Reviewers}
		if err := set.Check(&c.Salt, want); err != nil {
			return fmt.Errorf("%w: case %s: the server's record names the reporter key %s… and the reviewers %v, "+
				"which is not the set its log entries commit to. Someone edited the case record to read, or let "+
				"an excluded reviewer read, later messages (nothing imported): %w",
				ErrRecipients, id, prefix(c.ReporterRecipient, 16), c.Reviewers, err)
		}
	}
	return nil
}

func prefix(s string, n int) string { return s[:min(len(s), n)] }

// checkCommitted refuses to seal to a case record that is not the set its commitment names.
func checkCommitted(c *caseRecord) error {
	cm, ok := committed(c.Commitment, nil, nil)
	salt, err := hex.DecodeString(c.Salt)
	if !ok || err != nil || len(salt) != leaf.SaltSize {
		return fmt.Errorf("%w: case %s: no verified commitment to its recipients; import a bundle first", ErrRecipients, c.ID)
	}
	set := leaf.RecipientSet{Reporter: c.ReporterRecipient, Reviewers: c.Reviewers}
	if err := set.Check((*[leaf.SaltSize]byte)(salt), cm); err != nil {
		return fmt.Errorf("%w: case %s: %w", ErrRecipients, c.ID, err)
	}
	return nil
}
