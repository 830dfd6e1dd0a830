package inbox

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"candor/internal/bundle"
	"candor/internal/envelope"
	"candor/internal/logentry"
)

// metaInstall holds the latest bundle.Installation record (JSON).
var metaInstall = []byte("installation")

// signedBlob reports whether blobs of kind k carry their author's envelope signature.
func signedBlob(k bundle.BlobKind) bool { return k == bundle.BlobReply || k == bundle.BlobNote }

// signedBody returns the envelope body the author of b signed: b's age file, or — when a share
// replaced b's header — SignedHeader ‖ payload, provided a share of b's case in this bundle lists
// exactly b's new header for b (checkChanges verifies that share's signature; the import fails
// as a whole if it does not).
func (p *parsed) signedBody(b *bundle.Blob) ([]byte, error) {
	file, err := p.ageFile(b.ID)
	if err != nil || len(b.SignedHeader) == 0 {
		return file, err
	}
	if !p.vouched(b) {
		return nil, errors.New("its header was replaced without a signed share that lists the new header")
	}
	return append(bytes.Clone(b.SignedHeader), file[len(b.Header):]...), nil
}

// vouched reports whether a share of b's case in the bundle lists b's header for b.
func (p *parsed) vouched(b *bundle.Blob) bool {
	for _, c := range p.changes {
		if c.Kind != bundle.ChangeShare || c.Case != b.Case {
			continue
		}
		sb, err := envelope.ParseShareBody(c.Body)
		if err != nil {
			continue
		}
		for _, r := range sb.Blobs {
			if r.Blob == b.ID && bytes.Equal(r.Header, b.Header) {
				return true
			}
		}
	}
	return false
}

// checkChangeCases checks that every signed change belongs to a case the bundle describes — or,
// for an early deletion, to a case whose logged deletion the bundle's leaves carry with the same
// author, or that this inbox already holds as deleted — and that every early deletion logged in
// the bundle's leaves comes with its author's signed delete envelope (checkChanges verifies the
// signatures): the server cannot delete a case and blame a reviewer.
func checkChangeCases(p *parsed, lv *logView, cases, deleted map[[16]byte]bool) error {
	early := map[[16]byte]string{} // case → author of its logged early deletion
	for _, a := range lv.entries {
		if e := a.entry; e != nil && e.Type == logentry.CaseDeleted && e.Value == logentry.ValueEarly {
			early[e.Case] = e.Actor
		}
	}
	signed := map[[16]byte]bool{}
	for _, c := range p.changes {
		switch {
		case c.Kind == bundle.ChangeDelete && early[c.Case] == c.Author:
			signed[c.Case] = true
		case c.Kind == bundle.ChangeDelete && deleted[c.Case]:
			// the deletion was imported before; the server sends its signature with every bundle
		case c.Kind == bundle.ChangeDelete:
			return fmt.Errorf("%w: a signed deletion of case %s that the log does not record (nothing imported)",
				ErrBadBundle, hex.EncodeToString(c.Case[:]))
		case !cases[c.Case]:
			return fmt.Errorf("%w: a signed change of a case the bundle does not describe", ErrBadBundle)
		}
	}
	for id, author := range early {
		if !signed[id] {
			return fmt.Errorf("%w: case %s: the log records an early deletion by %s, but the bundle carries no "+
				"deletion signed by that reviewer (nothing imported)", ErrForged, hex.EncodeToString(id[:]), author)
		}
	}
	return nil
}

// storeTeam records what the verified signed changes say about each described case (lead,
// outcome, the signed changes themselves) and the installation record.
func storeTeam(tx *bolt.Tx, p *parsed) error {
	if p.install != nil {
		if err := putJSON(tx.Bucket(bucketMeta), metaInstall, p.install); err != nil {
			return err
		}
	}
	byCase := map[[16]byte][]*bundle.Change{}
	for _, c := range p.changes {
		byCase[c.Case] = append(byCase[c.Case], c)
	}
	cases := tx.Bucket(bucketCases)
	for _, bc := range p.cases {
		var r caseRecord
		if _, err := getJSON(cases, bc.ID[:], &r); err != nil {
			return err
		}
		r.Team.Assignee, r.Team.Outcome, r.Team.Signed = deriveTeam(byCase[bc.ID])
		if err := putJSON(cases, bc.ID[:], &r); err != nil {
			return err
		}
	}
	return nil
}

// deriveTeam applies "the latest signed change wins" (envelope.TakesEffect's rule) to the lead
// and to the closing's outcome, and returns the changes as the inbox keeps them.
func deriveTeam(changes []*bundle.Change) (assignee, outcome string, signed []signedChange) {
	var applied []envelope.Change
	for _, c := range changes {
		ch := envelope.Change{Kind: envelope.Kind(c.Kind), Author: c.Author, Day: c.Day, Status: c.Status, Hold: c.Hold}
		effective := takesEffect(applied, ch)
		applied = append(applied, ch)
		switch {
		case c.Kind == bundle.ChangeAssign && effective:
			assignee = c.Target
		case c.Kind == bundle.ChangeStatus && effective:
			outcome = c.Outcome // empty unless the change closes the case
		}
		signed = append(signed, signedChange{Kind: changeName(c.Kind), Author: c.Author, Seq: c.Seq, Day: c.Day,
			Value: changeValue(c)})
	}
	return assignee, outcome, signed
}

// takesEffect is envelope.TakesEffect extended to assignments, which compete like status changes.
func takesEffect(applied []envelope.Change, next envelope.Change) bool {
	if next.Kind != envelope.KindAssign {
		return envelope.TakesEffect(applied, next)
	}
	for _, o := range applied {
		if o.Kind == envelope.KindAssign && o.Day > next.Day {
			return false
		}
	}
	return true
}

func changeValue(c *bundle.Change) string {
	switch c.Kind {
	case bundle.ChangeStatus:
		if c.Outcome != "" {
			return c.Status + " (" + c.Outcome + ")"
		}
		return c.Status
	case bundle.ChangeHold:
		return onOff(c.Hold)
	case bundle.ChangeAssign:
		if c.Target == "" {
			return logentry.ValueNone
		}
		return c.Target
	case bundle.ChangeShare:
		return c.Target
	}
	return ""
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// purge removes every blob of a deleted case from the inbox (records, small blobs kept in
// inbox.db, blob files) and records who deleted it, when, and — for an early deletion — the
// reviewer's sealed reason. The case record stays, content-free, so that the list shows the
// deletion.
func purge(tx *bolt.Tx, c *caseRecord, e *logentry.Entry, p *parsed) error {
	for _, bid := range c.Blobs {
		k, err := hex.DecodeString(bid)
		if err != nil {
			return fmt.Errorf("inbox: corrupt blob id: %w", err)
		}
		if err := tx.Bucket(bucketBlobs).Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketBlobData).Delete(k); err != nil {
			return err
		}
		if err := os.Remove(blobFile(p.home, bid)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	c.Blobs = nil
	c.Team.DeletedBy, c.Team.DeletedOn = e.Actor, e.Day
	for _, ch := range p.changes {
		if ch.Kind == bundle.ChangeDelete && ch.Case == e.Case {
			c.Team.DeleteReason = bytes.Clone(ch.Body)
		}
	}
	return nil
}

// compactDB rewrites inbox.db without its free pages, so that the ciphertext of purged blobs kept
// in the database does not survive in the file (bbolt leaves freed pages as they were). It runs
// after an import that purged a deleted case.
func (in *Inbox) compactDB() error {
	path := filepath.Join(in.cfg.Home, DBFile)
	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	err = bolt.Compact(dst, in.db, 16<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("inbox: compacting %s: %w", DBFile, err)
	}
	if err := in.db.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	in.db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	return err
}
