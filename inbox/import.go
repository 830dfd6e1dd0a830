package inbox

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
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
	Entries    int      // log entries in the bundle
	Deleted    []string // cases whose logged deletion the bundle carried
	Missing    []string // known cases missing from the server without a logged deletion
	FirstPin   bool     // this import pinned the server key
	Since, Til uint64
}

// parsed is a verified bundle, held in memory but for the blob payloads (in temporary files).
type parsed struct {
	header  *bundle.Header
	cp      *logentry.SignedCheckpoint
	proofs  map[int64]tlog.TreeProof
	entries []*bundle.LogEntry
	cases   []*bundle.Case
	changes []*bundle.Change
	cards   [][]byte
	index   *bundle.CaseIndex
	blobs   []*bundle.Blob
	temps   map[[16]byte]string // blob ID → temporary file
	small   map[[16]byte][]byte // blob ID → age file, for blobs of at most smallBlob bytes
	inMem   int64
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
// signature again, every inclusion proof, the cards and the log's consistency with every
// checkpoint the inbox has kept. Only then are the blobs moved into place and the records
// committed in one transaction. Importing the same bundle again changes nothing.
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
	if err := in.verify(p); err != nil {
		return nil, err
	}
	res, err := in.commit(p)
	if err == nil {
		res.FirstPin = first
	}
	return res, err
}

func bundleErr(err error) error {
	for _, e := range []error{ErrOtherServer, ErrOtherReviewer} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrBadBundle, err)
}

// choose checks the header against this inbox and returns the verifier of the pinned server key.
func (in *Inbox) choose(h *bundle.Header) (*crypto.VerifyKey, bool, error) {
	if h.Reviewer != in.fp {
		return nil, false, fmt.Errorf("%w: it is for %s, this inbox is %s", ErrOtherReviewer, h.Reviewer, in.fp)
	}
	var pinned, origin []byte
	in.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		pinned, origin = bytes.Clone(b.Get(metaServerKey)), bytes.Clone(b.Get(metaOrigin))
		return nil
	})
	if pinned != nil && (!bytes.Equal(pinned, h.ServerKey) || string(origin) != h.ServerOrigin) {
		return nil, false, fmt.Errorf("%w (bundle from %q, inbox trusts %q)", ErrOtherServer, h.ServerOrigin, origin)
	}
	v, err := crypto.ParseVerifyKey(h.ServerKey)
	if err != nil {
		return nil, false, fmt.Errorf("%w: server key: %w", ErrBadBundle, err)
	}
	return v, pinned == nil, nil
}

// read parses the bundle, writing blob files to temporary files, and checks its signatures.
func (in *Inbox) read(src io.Reader, v *crypto.VerifyKey) (*parsed, error) {
	p := &parsed{proofs: map[int64]tlog.TreeProof{}, temps: map[[16]byte]string{}, small: map[[16]byte][]byte{}}
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
		p.cp = &rec.SignedCheckpoint
	case *bundle.Consistency:
		p.proofs[rec.FromSize] = rec.Proof
	case *bundle.LogEntry:
		p.entries = append(p.entries, rec)
	case *bundle.Case:
		p.cases = append(p.cases, rec)
	case *bundle.Change:
		p.changes = append(p.changes, rec)
	case *bundle.Card:
		p.cards = append(p.cards, rec.Text)
	case *bundle.CaseIndex:
		p.index = rec
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

// verify checks what the server's signature alone does not: the log's consistency with the
// inbox's checkpoints, every entry's inclusion, the cards, the blobs' cases and the reviewers'
// signatures of the replies, status changes and holds.
func (in *Inbox) verify(p *parsed) error {
	known, err := in.checkpoints()
	if err != nil {
		return err
	}
	if err := checkConsistency(known, p.cp, p.proofs); err != nil {
		return err
	}
	for _, e := range p.entries {
		if tlog.CheckRecord(e.Proof, p.cp.Size, p.cp.Hash, e.Index, tlog.RecordHash(e.Entry)) != nil {
			return fmt.Errorf("%w: log entry %d is not included in the checkpoint of size %d",
				ErrRewrite, e.Index, p.cp.Size)
		}
	}
	for _, c := range p.cards {
		if _, err := crypto.ParseCard(c); err != nil {
			return fmt.Errorf("%w: a reviewer card: %w", ErrBadBundle, err)
		}
	}
	cases := map[[16]byte]bool{}
	for _, c := range p.cases {
		cases[c.ID] = true
	}
	for _, b := range p.blobs {
		if !cases[b.Case] {
			return fmt.Errorf("%w: a blob of a case the bundle does not describe", ErrBadBundle)
		}
	}
	for _, c := range p.changes {
		if !cases[c.Case] {
			return fmt.Errorf("%w: a signed change of a case the bundle does not describe", ErrBadBundle)
		}
	}
	if err := in.checkReplies(p); err != nil {
		return err
	}
	return in.checkChanges(p)
}

type checkpoint struct {
	size int64
	hash tlog.Hash
}

func (in *Inbox) checkpoints() ([]checkpoint, error) {
	var out []checkpoint
	err := in.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCheckpoints).ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) != tlog.HashSize {
				return fmt.Errorf("inbox: corrupt checkpoint record")
			}
			out = append(out, checkpoint{int64(binary.BigEndian.Uint64(k)), tlog.Hash(v)})
			return nil
		})
	})
	return out, err
}

func root(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// checkConsistency checks cp against the checkpoints the inbox kept (in increasing size):
// a different root for a size already seen is a fork; a proof that fails, or a checkpoint
// smaller than the latest one that the inbox never saw, is a rewrite; a larger checkpoint needs a
// proof from the latest one.
func checkConsistency(known []checkpoint, cp *logentry.SignedCheckpoint, proofs map[int64]tlog.TreeProof) error {
	for _, k := range known {
		if k.size == cp.Size && k.hash != cp.Hash {
			return fmt.Errorf("%w: the bundle's checkpoint of size %d has root %s, but this inbox "+
				"verified root %s for size %d earlier: two different logs of the same size (nothing imported)",
				ErrFork, cp.Size, root(cp.Hash), root(k.hash), k.size)
		}
		proof, ok := proofs[k.size]
		if !ok || k.size >= cp.Size {
			continue
		}
		if tlog.CheckTree(proof, cp.Size, cp.Hash, k.size, k.hash) != nil {
			return fmt.Errorf("%w: the bundle's checkpoint of size %d (root %s) does not extend the "+
				"checkpoint of size %d (root %s) this inbox verified earlier (nothing imported)",
				ErrRewrite, cp.Size, root(cp.Hash), k.size, root(k.hash))
		}
	}
	if len(known) == 0 {
		return nil
	}
	latest := known[len(known)-1]
	switch {
	case latest.size > cp.Size && !slices.ContainsFunc(known, func(k checkpoint) bool { return k.size == cp.Size }):
		return fmt.Errorf("%w: the bundle's checkpoint of size %d (root %s) is older than the "+
			"checkpoint of size %d (root %s) this inbox verified, and was never seen: the log shrank "+
			"or the bundle is replayed from another history (nothing imported)",
			ErrRewrite, cp.Size, root(cp.Hash), latest.size, root(latest.hash))
	case latest.size < cp.Size:
		if _, ok := proofs[latest.size]; !ok {
			return fmt.Errorf("%w (size %d, root %s; the bundle's checkpoint has size %d): pull again "+
				"with `candor sync pull --since 0`, or ask the admin why the server lost track",
				ErrNoProof, latest.size, root(latest.hash), cp.Size)
		}
	}
	return nil
}

// commit moves the blobs into place and stores the records in one transaction.
func (in *Inbox) commit(p *parsed) (*ImportResult, error) {
	res := &ImportResult{Reviewer: p.header.Reviewer, Size: p.cp.Size, Root: root(p.cp.Hash),
		Cases: len(p.cases), Blobs: len(p.blobs), Entries: len(p.entries), Since: p.header.Since, Til: p.header.Until}
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
	err := in.db.Update(func(tx *bolt.Tx) error { return in.store(tx, p, res) })
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

func (in *Inbox) blobPath(id string) string {
	return filepath.Join(in.cfg.Home, BlobDir, id+".age")
}

func (in *Inbox) store(tx *bolt.Tx, p *parsed, res *ImportResult) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaServerKey) == nil {
		if err := meta.Put(metaServerKey, p.header.ServerKey); err != nil {
			return err
		}
		if err := meta.Put(metaOrigin, []byte(p.header.ServerOrigin)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketCheckpoints).Put(u64(uint64(p.cp.Size)), p.cp.Hash[:]); err != nil {
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
	return applyLog(tx, p, res)
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
		rec := blobRecord{Case: hex.EncodeToString(bl.Case[:]), Kind: kindName(bl.Kind), Author: bl.Author,
			Day: bl.Day, Size: int64(len(bl.Header)) + bl.Size, Signed: bl.Kind == bundle.BlobReply, Seq: bl.Seq}
		if err := putJSON(blobs, bl.ID[:], &rec); err != nil {
			return err
		}
		var c caseRecord
		if _, err := getJSON(cases, bl.Case[:], &c); err != nil {
			return err
		}
		c.Blobs = append(c.Blobs, hex.EncodeToString(bl.ID[:]))
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
	}
	return "unknown"
}

// applyLog records the entries as case events, marks logged deletions, and marks known cases
// missing from the bundle's case index without a logged deletion.
func applyLog(tx *bolt.Tx, p *parsed, res *ImportResult) error {
	cases := tx.Bucket(bucketCases)
	for _, le := range p.entries {
		e, err := logentry.Parse(le.Entry)
		if err != nil || e.Case == ([16]byte{}) {
			continue
		}
		var c caseRecord
		ok, err := getJSON(cases, e.Case[:], &c)
		if err != nil {
			return err
		}
		if !ok {
			continue // a case the inbox never had: nothing to attach the event to
		}
		if !slices.ContainsFunc(c.Events, func(x Event) bool { return x.Index == le.Index }) {
			c.Events = append(c.Events, Event{Index: le.Index, Type: e.Type.String(), Day: e.Day, Actor: e.Actor, Value: e.Value})
			slices.SortFunc(c.Events, func(a, b Event) int { return int(a.Index - b.Index) })
		}
		if e.Type == logentry.CaseDeleted {
			if !c.Deleted {
				res.Deleted = append(res.Deleted, c.ID)
			}
			c.Deleted, c.Missing = true, false
		}
		if err := putJSON(cases, e.Case[:], &c); err != nil {
			return err
		}
	}
	if p.index == nil {
		return nil
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
