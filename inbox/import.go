package inbox

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"candor/crypto"
	"candor/internal/bundle"
	"candor/internal/envelope"
	"candor/internal/logentry"
)

// ImportResult says what an import changed.
type ImportResult struct {
	Reviewer   string   // the bundle's reviewer (this inbox's)
	Size       int64    // the verified checkpoint's tree size
	Root       string   // its root, base64
	Cases      int      // case records in the bundle
	Blobs      int      // blobs in the bundle
	NewBlobs   int      // blobs the inbox did not have
	Entries    int      // log entries addressed to this reviewer in the bundle
	Others     int      // log entries addressed to other reviewers (only their existence is known)
	Deleted    []string // cases whose logged deletion the bundle carried (purged from the inbox)
	Destroy    []string // files and directories exported from the deleted cases: destroy them
	Missing    []string // known cases missing from the server without a logged deletion
	FirstPin   bool     // this import pinned the server key
	ServerKey  string   // the server key's fingerprint
	Since, Til uint64
	Origin     string   // the log's origin (its epoch)
	Witnesses  []string // the witnesses that cosigned the checkpoint
	Restore    *Restore // the restore that started the bundle's epoch, if this import is its first
}

// parsed is a verified bundle, held in memory but for the blob payloads (in temporary files).
type parsed struct {
	header    *bundle.Header
	note      []byte
	alarms    []*bundle.Alarm
	sealedKey *bundle.SealedKey
	leaves    *bundle.LeafList
	cases     []*bundle.Case
	changes   []*bundle.Change
	cards     [][]byte
	index     *bundle.CaseIndex
	install   *bundle.Installation
	blobs     []*bundle.Blob
	temps     map[[16]byte]string // blob ID → temporary file
	small     map[[16]byte][]byte // blob ID → age file, for blobs of at most smallBlob bytes
	inMem     int64
	home      string // the inbox's home, for purging blob files
}

// Blobs of at most smallBlob bytes are kept in inbox.db instead of a file of their own (creating
// thousands of files costs far more than one transaction), up to maxInMemory bytes per import.
const (
	smallBlob   = 64 << 10
	maxInMemory = 64 << 20
)

func (p *parsed) cleanup() {
	for _, t := range p.temps {
		os.Remove(t)
	}
}

// Import verifies the bundle at path and stores it. It reads the file twice: first to check the
// server's signature under the pinned key (pinning it on the first import) without storing
// anything, then to read the records — blob payloads into temporary files — and to check the
// signature again; the checkpoint note with the log's keys and the configured witnesses; the leaf
// list against every checkpoint the inbox has kept (nothing addressed to this reviewer withheld);
// each case's recipients against the set its log entries commit to; the cards and the reviewers'
// signatures. Only then are the blobs moved into place and the records committed in one
// transaction. Importing the same bundle again changes nothing; an older one is refused
// (ErrOldBundle) and changes nothing either.
func (in *Inbox) Import(path string) (*ImportResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var v *crypto.VerifyKey
	var first bool
	if _, err := bundle.VerifyFunc(in.progress(f, "verifying"), func(h *bundle.Header) (bundle.Verifier, error) {
		v, first, err = in.choose(h)
		return v, err
	}); err != nil {
		if errors.Is(err, bundle.ErrVersion) && isOutbox(f) {
			return nil, ErrOutbox
		}
		return nil, bundleErr(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	p, err := in.read(in.progress(f, "importing"), v)
	if err != nil {
		return nil, bundleErr(err)
	}
	defer p.cleanup()
	lv, err := in.verify(p)
	if err != nil {
		return nil, err
	}
	res, err := in.commit(p, lv)
	if err != nil {
		return nil, err
	}
	res.FirstPin, res.ServerKey = first, v.Fingerprint()
	if len(res.Deleted) > 0 {
		err = in.compactDB() // purged ciphertext must not survive in free pages
	}
	return res, err
}

// isOutbox reports whether f starts like an outbox file.
func isOutbox(f io.ReadSeeker) bool {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false
	}
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	return envelope.IsOutbox(head[:n])
}

func bundleErr(err error) error {
	for _, e := range []error{ErrOtherServer, ErrOtherReviewer, ErrServerUnconfirmed} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrBadBundle, err)
}

// choose checks the header against this inbox and returns the verifier of the pinned server key.
// With no key pinned yet (the first import) the bundle's key must have the fingerprint the
// reviewer confirmed with TrustServer: the inbox never trusts a server on first use unasked.
func (in *Inbox) choose(h *bundle.Header) (*crypto.VerifyKey, bool, error) {
	if h.Reviewer != in.fp {
		return nil, false, fmt.Errorf("%w: it is for %s, this inbox is %s", ErrOtherReviewer, h.Reviewer, in.fp)
	}
	var pinned, origin, expect []byte
	in.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		pinned, origin = bytes.Clone(b.Get(metaServerKey)), bytes.Clone(b.Get(metaOrigin))
		expect = bytes.Clone(b.Get(metaExpectServer))
		return nil
	})
	// The origin is bound to the key (checkLog checks it is an epoch origin of the key), so a new
	// epoch of the same server is accepted here.
	if pinned != nil && !bytes.Equal(pinned, h.ServerKey) {
		return nil, false, fmt.Errorf("%w (bundle from %q, inbox trusts %q)", ErrOtherServer, h.ServerOrigin, origin)
	}
	v, err := crypto.ParseVerifyKey(h.ServerKey)
	if err != nil {
		return nil, false, fmt.Errorf("%w: server key: %w", ErrBadBundle, err)
	}
	if pinned == nil {
		switch fp := v.Fingerprint(); {
		case expect == nil:
			return nil, false, &UnconfirmedServerError{Fingerprint: fp, Origin: h.ServerOrigin}
		case string(expect) != fp:
			return nil, false, fmt.Errorf("%w: the bundle is signed by server key %s (log %q), but the fingerprint "+
				"confirmed for this inbox is %s", ErrOtherServer, fp, h.ServerOrigin, expect)
		}
	}
	return v, pinned == nil, nil
}

// UnconfirmedServerError is the first import's refusal while no fingerprint was confirmed: it
// names the key that signed the bundle, for the reviewer to compare with the one the admin gave.
type UnconfirmedServerError struct {
	Fingerprint string // of the key that signed the bundle
	Origin      string // the bundle's log origin
}

func (e *UnconfirmedServerError) Error() string {
	return fmt.Sprintf("%v: the bundle is signed by server key %s (log %q)", ErrServerUnconfirmed, e.Fingerprint, e.Origin)
}

// Is makes errors.Is(err, ErrServerUnconfirmed) true.
func (e *UnconfirmedServerError) Is(target error) bool { return target == ErrServerUnconfirmed }

// TrustServer records the fingerprint of the server key the reviewer was given (by the admin, in
// person or over another channel they trust): the first import accepts a bundle only if its key
// has this fingerprint. Once a key is pinned, TrustServer accepts only that key's fingerprint
// (and changes nothing): an inbox never moves to another server.
func (in *Inbox) TrustServer(fingerprint string) error {
	fp, err := crypto.ParseFingerprint(fingerprint)
	if err != nil {
		return fmt.Errorf("inbox: server key fingerprint: %w", err)
	}
	return in.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if pinned := meta.Get(metaServerKey); pinned != nil {
			v, err := crypto.ParseVerifyKey(pinned)
			if err != nil {
				return err
			}
			if v.Fingerprint() != fp {
				return fmt.Errorf("%w: this inbox trusts server key %s, not %s", ErrOtherServer, v.Fingerprint(), fp)
			}
			return nil
		}
		return meta.Put(metaExpectServer, []byte(fp))
	})
}

// ServerFingerprint returns the fingerprint of the pinned server key, or the one confirmed for
// the first import (pinned false), or "" when neither exists.
func (in *Inbox) ServerFingerprint() (fp string, pinned bool, err error) {
	err = in.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if b := meta.Get(metaServerKey); b != nil {
			v, err := crypto.ParseVerifyKey(b)
			if err != nil {
				return err
			}
			fp, pinned = v.Fingerprint(), true
			return nil
		}
		fp = string(meta.Get(metaExpectServer))
		return nil
	})
	return fp, pinned, err
}

// read parses the bundle, writing blob files to temporary files, and checks its signatures.
func (in *Inbox) read(src io.Reader, v *crypto.VerifyKey) (*parsed, error) {
	p := &parsed{temps: map[[16]byte]string{}, small: map[[16]byte][]byte{}, home: in.cfg.Home}
	r := bundle.NewReader(bufio.NewReaderSize(src, 1<<20))
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.cleanup()
			return nil, err
		}
		if err := in.take(p, rec, r); err != nil {
			p.cleanup()
			return nil, err
		}
	}
	if err := r.End(v); err != nil {
		p.cleanup()
		return nil, err
	}
	return p, nil
}

func (in *Inbox) take(p *parsed, rec bundle.Record, r *bundle.Reader) error {
	switch rec := rec.(type) {
	case *bundle.Header:
		p.header = rec
	case *bundle.Checkpoint:
		p.note = rec.Note
	case *bundle.Alarm:
		p.alarms = append(p.alarms, rec)
	case *bundle.SealedKey:
		p.sealedKey = rec
	case *bundle.LeafList:
		p.leaves = rec
	case *bundle.Case:
		p.cases = append(p.cases, rec)
	case *bundle.Change:
		p.changes = append(p.changes, rec)
	case *bundle.Card:
		p.cards = append(p.cards, rec.Text)
	case *bundle.CaseIndex:
		p.index = rec
	case *bundle.Installation:
		p.install = rec
	case *bundle.Blob:
		p.blobs = append(p.blobs, rec)
		return in.writeTemp(p, rec, r)
	}
	return nil
}

// writeTemp writes a blob's age file (header ‖ payload) to a temporary file in the blob directory.
func (in *Inbox) writeTemp(p *parsed, b *bundle.Blob, payload io.Reader) error {
	if _, dup := p.temps[b.ID]; dup || p.small[b.ID] != nil {
		return fmt.Errorf("blob listed twice")
	}
	if n := int64(len(b.Header)) + b.Size; n <= smallBlob && p.inMem+n <= maxInMemory {
		buf := make([]byte, n)
		copy(buf, b.Header)
		if _, err := io.ReadFull(payload, buf[len(b.Header):]); err != nil {
			return err
		}
		p.small[b.ID], p.inMem = buf, p.inMem+n
		return nil
	}
	f, err := os.CreateTemp(filepath.Join(in.cfg.Home, BlobDir), ".tmp-*")
	if err != nil {
		return err
	}
	p.temps[b.ID] = f.Name()
	_, err = f.Write(b.Header)
	if err == nil {
		_, err = io.Copy(f, payload)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// verify checks what the server's signature alone does not: the log (checkLog), the cards, the
// blobs' cases, each case's committed recipients, that nothing addressed to this reviewer was
// withheld, and the reviewers' signatures of the replies, status changes and holds.
func (in *Inbox) verify(p *parsed) (*logView, error) {
	lv, err := in.checkLog(p)
	if err != nil {
		return nil, err
	}
	for _, c := range p.cards {
		if _, err := crypto.ParseCard(c); err != nil {
			return nil, fmt.Errorf("%w: a reviewer card: %w", ErrBadBundle, err)
		}
	}
	cases := map[[16]byte]bool{}
	for _, c := range p.cases {
		cases[c.ID] = true
	}
	for _, b := range p.blobs {
		if !cases[b.Case] {
			return nil, fmt.Errorf("%w: a blob of a case the bundle does not describe", ErrBadBundle)
		}
	}
	h, err := in.held()
	if err != nil {
		return nil, err
	}
	if err := checkChangeCases(p, lv, cases, h.deleted); err != nil {
		return nil, err
	}
	if err := in.checkEpoch(lv); err != nil {
		return nil, err
	}
	if err := in.checkReplies(p); err != nil {
		return nil, err
	}
	if err := in.checkChanges(p); err != nil {
		return nil, err
	}
	if err := in.checkRecipients(p, lv); err != nil {
		return nil, err
	}
	return lv, in.checkWithheld(p, lv)
}

func root(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// commit moves the blobs into place and stores the records in one transaction.
func (in *Inbox) commit(p *parsed, lv *logView) (*ImportResult, error) {
	v := lv.note
	res := &ImportResult{Reviewer: p.header.Reviewer, Size: v.Size, Root: root(v.Hash), Origin: v.Origin,
		Cases: len(p.cases), Blobs: len(p.blobs), Entries: len(lv.entries), Others: lv.others,
		Since: p.header.Since, Til: p.header.Until}
	for _, c := range v.Cosignatures {
		res.Witnesses = append(res.Witnesses, c.Witness)
	}
	for _, b := range p.blobs {
		if p.small[b.ID] != nil {
			res.NewBlobs += in.hasBlobData(b.ID)
			continue
		}
		final := in.blobPath(hex.EncodeToString(b.ID[:]))
		if _, err := os.Stat(final); err == nil {
			continue // imported before; the temporary copy is removed by cleanup
		}
		if err := os.Rename(p.temps[b.ID], final); err != nil {
			return nil, err
		}
		delete(p.temps, b.ID)
		res.NewBlobs++
	}
	err := in.db.Update(func(tx *bolt.Tx) error { return in.store(tx, p, lv, res) })
	if err != nil {
		return nil, err
	}
	return res, nil
}

// hasBlobData returns 0 if inbox.db holds the small blob id, 1 if not (a new blob).
func (in *Inbox) hasBlobData(id [16]byte) int {
	n := 1
	in.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBlobData).Get(id[:]) != nil {
			n = 0
		}
		return nil
	})
	return n
}

// openBlob opens the age file of blob id, kept in inbox.db or in the blob directory.
func (in *Inbox) openBlob(id string) (io.ReadCloser, error) {
	k, err := hex.DecodeString(id)
	if err != nil {
		return nil, err
	}
	var b []byte
	in.db.View(func(tx *bolt.Tx) error {
		b = bytes.Clone(tx.Bucket(bucketBlobData).Get(k))
		return nil
	})
	if b != nil {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	return os.Open(in.blobPath(id))
}

func (in *Inbox) blobPath(id string) string { return blobFile(in.cfg.Home, id) }

func blobFile(home, id string) string { return filepath.Join(home, BlobDir, id+".age") }

func (in *Inbox) store(tx *bolt.Tx, p *parsed, lv *logView, res *ImportResult) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaServerKey) == nil {
		if err := meta.Put(metaServerKey, p.header.ServerKey); err != nil {
			return err
		}
		if err := meta.Delete(metaExpectServer); err != nil {
			return err
		}
	}
	if err := storeLog(tx, p, lv, res); err != nil {
		return err
	}
	if p.header.Until > getU64(meta, metaCursor) {
		if err := meta.Put(metaCursor, u64(p.header.Until)); err != nil {
			return err
		}
	}
	for _, c := range p.cards {
		card, _ := crypto.ParseCard(c)
		if err := tx.Bucket(bucketCards).Put([]byte(card.Fingerprint()), card.Marshal()); err != nil {
			return err
		}
	}
	data := tx.Bucket(bucketBlobData)
	for id, b := range p.small {
		if data.Get(id[:]) == nil {
			if err := data.Put(id[:], b); err != nil {
				return err
			}
		}
	}
	if err := storeCases(tx, p); err != nil {
		return err
	}
	if err := storeBlobs(tx, p); err != nil {
		return err
	}
	if err := storeTeam(tx, p); err != nil {
		return err
	}
	return applyLog(tx, p, lv, res)
}

func storeCases(tx *bolt.Tx, p *parsed) error {
	b := tx.Bucket(bucketCases)
	for _, c := range p.cases {
		var r caseRecord
		if _, err := getJSON(b, c.ID[:], &r); err != nil {
			return err
		}
		r.ID, r.Category, r.Received, r.AckDue = hex.EncodeToString(c.ID[:]), c.Category, c.Received, c.AckDue
		r.FeedbackDue, r.Closed, r.Status, r.Reviewers = c.FeedbackDue, c.Closed, c.Status, c.Reviewers
		r.ReporterRecipient, r.Holds, r.Missing = c.ReporterRecipient, c.Holds, false
		r.Salt = hex.EncodeToString(c.Salt[:])
		if err := putJSON(b, c.ID[:], &r); err != nil {
			return err
		}
	}
	return nil
}

func storeBlobs(tx *bolt.Tx, p *parsed) error {
	cases, blobs := tx.Bucket(bucketCases), tx.Bucket(bucketBlobs)
	for _, bl := range p.blobs {
		if blobs.Get(bl.ID[:]) != nil {
			continue
		}
		h := sha256.Sum256(bl.Header)
		rec := blobRecord{Case: hex.EncodeToString(bl.Case[:]), Kind: kindName(bl.Kind), Author: bl.Author,
			Day: bl.Day, Size: int64(len(bl.Header)) + bl.Size, Signed: signedBlob(bl.Kind), Seq: bl.Seq,
			Feedback: bl.Feedback, HeaderHash: hex.EncodeToString(h[:])}
		if err := putJSON(blobs, bl.ID[:], &rec); err != nil {
			return err
		}
		var c caseRecord
		if _, err := getJSON(cases, bl.Case[:], &c); err != nil {
			return err
		}
		c.Blobs = append(c.Blobs, hex.EncodeToString(bl.ID[:]))
		if bl.Feedback && (c.Team.FeedbackGiven == 0 || bl.Day < c.Team.FeedbackGiven) {
			c.Team.FeedbackGiven = bl.Day
		}
		if err := putJSON(cases, bl.Case[:], &c); err != nil {
			return err
		}
	}
	return nil
}

func kindName(k bundle.BlobKind) string {
	switch k {
	case bundle.BlobReport:
		return "report"
	case bundle.BlobFollowUp:
		return "follow-up"
	case bundle.BlobReply:
		return "reply"
	case bundle.BlobNote:
		return "note"
	}
	return "unknown"
}

// applyLog records the entries addressed to this reviewer as case events (once: an entry a
// restore re-logged is the event already recorded), keeps each case's recipient commitment, marks
// logged deletions, and marks known cases missing from the bundle's case index without a logged
// deletion.
func applyLog(tx *bolt.Tx, p *parsed, lv *logView, res *ImportResult) error {
	cases := tx.Bucket(bucketCases)
	for _, a := range lv.entries {
		e := a.entry
		if e == nil || e.Case == ([16]byte{}) {
			continue
		}
		var c caseRecord
		ok, err := getJSON(cases, e.Case[:], &c)
		if err != nil {
			return err
		}
		if !ok && lv.undelivered[e.Case] {
			c = caseRecord{ID: hex.EncodeToString(e.Case[:]), Status: "received", Received: e.Day}
		} else if !ok {
			continue // a case the inbox never had: nothing to attach the event to
		}
		ev := Event{Epoch: lv.epoch, Index: a.index, Type: e.Type.String(), Day: e.Day, Actor: e.Actor,
			Value: e.Value, Subject: hex.EncodeToString(e.Subject[:])}
		if !slices.ContainsFunc(c.Events, ev.same) {
			c.Events = append(c.Events, ev)
			slices.SortStableFunc(c.Events, func(a, b Event) int { return cmp.Or(a.Epoch-b.Epoch, cmp.Compare(a.Index, b.Index)) })
		}
		if cm, ok := committed(c.Commitment, []*logentry.Entry{e}, sharesOf(p)); ok {
			c.Commitment = hex.EncodeToString(cm[:])
		}
		if e.Type == logentry.CaseDeleted {
			if !c.Deleted {
				res.Deleted = append(res.Deleted, c.ID)
				res.Destroy = append(res.Destroy, c.Team.Exports...)
			}
			c.Deleted, c.Missing = true, false
			if err := purge(tx, &c, e, p); err != nil {
				return err
			}
		}
		if e.Type == logentry.CaseCreated && e.Value == logentry.ValueIntake {
			c.Team.Intake = true
		}
		if err := putJSON(cases, e.Case[:], &c); err != nil {
			return err
		}
	}
	return markMissing(cases, p.index, res)
}

func markMissing(cases *bolt.Bucket, index *bundle.CaseIndex, res *ImportResult) error {
	present := map[[16]byte]bool{}
	for _, id := range index.Cases {
		present[id] = true
	}
	type upd struct {
		k []byte
		c caseRecord
	}
	var updates []upd
	err := cases.ForEach(func(k, v []byte) error {
		var c caseRecord
		if _, err := getJSON(cases, k, &c); err != nil {
			return err
		}
		missing := !present[[16]byte(k)] && !c.Deleted
		if missing {
			res.Missing = append(res.Missing, c.ID)
		}
		if missing != c.Missing {
			c.Missing = missing
			updates = append(updates, upd{bytes.Clone(k), c})
		}
		return nil
	})
	for _, u := range updates {
		if err == nil {
			err = putJSON(cases, u.k, &u.c)
		}
	}
	return err
}
