package store

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"candor/internal/day"
)

// Message kinds.
const (
	KindReport   = "report"   // the first submission of a case
	KindFollowup = "followup" // a further message from the reporter
	KindReply    = "reply"    // a reviewer's reply (encrypted to the reporter and all case reviewers)
	KindNote     = "note"     // a reviewer's internal note (encrypted to the case's reviewers only)
)

// AuthorReporter is Message.Author for the reporter's messages; a reviewer's
// message carries the reviewer's fingerprint.
const AuthorReporter = "reporter"

// Case is a case's content-free metadata. The store owns ID (assigned by
// CreateCase if zero), Messages (appended by AddMessage) and LogIndices (the
// indices of every log entry appended by the case's operations); Lookup is
// set once by CreateCase. The other fields belong to the caller.
type Case struct {
	ID                CaseID
	Category          string
	Received          day.Day
	Acknowledged      day.Day // zero: not yet
	Closed            day.Day // zero: open
	Status            string
	Reviewers         []string // fingerprints the case is encrypted to
	ReporterRecipient string   // age recipient replies are encrypted to
	Lookup            [32]byte // SHA-256 of the receipt's lookup key
	Holds             []string // fingerprints of reviewers holding the case
	Messages          []Message
	LogIndices        []int64
	// Signed lists the reviewers' signed status changes and holds, in the order applied; the
	// server copies them into bundles so that every inbox can check Status and Holds against
	// the reviewers' signatures. UpdateCase may only append to it.
	Signed []SignedChange
	// Team work (DESIGN §12), set by the caller: the day of the first feedback reply (AddMessage
	// sets it), the lead reviewer, and the outcome of the closing in effect.
	FeedbackGiven day.Day
	Assignee      string
	Outcome       string
	// Salt is the salt of the commitment to the case's recipients (ReporterRecipient and
	// Reviewers) that its CaseCreated entry, or its latest share, carries (leaf.RecipientSet).
	Salt [32]byte
}

// SignedChange is what rebuilds a reviewer's signed status or hold envelope (internal/envelope)
// of the case: Kind is "status" or "hold", Author the envelope's Reviewer, and Status or Hold
// its value. The store treats it as opaque.
type SignedChange struct {
	Kind   string  `json:"kind"`
	Author string  `json:"author"`
	Seq    uint64  `json:"seq"`
	Day    day.Day `json:"day"`
	Status string  `json:"status,omitempty"`
	Hold   bool    `json:"hold,omitempty"`
	Sig    []byte  `json:"sig"`
	// Team work: a closing's outcome, an assignment's or share's target, a share's commitment
	// and body (its re-wrapped headers), an early deletion's sealed reason.
	Outcome    string `json:"outcome,omitempty"`
	Target     string `json:"target,omitempty"`
	Commitment []byte `json:"commitment,omitempty"`
	Body       []byte `json:"body,omitempty"`
}

// Kinds of SignedChange.
const (
	ChangeStatus = "status"
	ChangeHold   = "hold"
	ChangeAssign = "assign"
	ChangeShare  = "share"
)

// isPrefix reports whether a is a prefix of b, signatures compared by value.
func isPrefix(a, b []SignedChange) bool {
	return len(a) <= len(b) && slices.EqualFunc(a, b[:len(a)], func(x, y SignedChange) bool {
		xs, ys := x.Sig, y.Sig
		x.Sig, y.Sig = nil, nil
		return x.Kind == y.Kind && x.Author == y.Author && x.Seq == y.Seq && x.Day == y.Day &&
			x.Status == y.Status && x.Hold == y.Hold && bytes.Equal(xs, ys) && x.Outcome == y.Outcome &&
			x.Target == y.Target && bytes.Equal(x.Commitment, y.Commitment) && bytes.Equal(x.Body, y.Body)
	})
}

// cloneSigned deep-copies l.
func cloneSigned(l []SignedChange) []SignedChange {
	out := slices.Clone(l)
	for i := range out {
		out[i].Sig = bytes.Clone(out[i].Sig)
		out[i].Commitment = bytes.Clone(out[i].Commitment)
		out[i].Body = bytes.Clone(out[i].Body)
	}
	return out
}

// Message is one sealed submission (report, follow-up or reply) of a case.
type Message struct {
	Blob   BlobID  `json:"blob"`
	Kind   string  `json:"kind"`   // KindReport, KindFollowup or KindReply
	Author string  `json:"author"` // AuthorReporter or a reviewer fingerprint
	Day    day.Day `json:"day"`
	Size   int64   `json:"size"` // ciphertext size, header included; set by the store
	// Signature is the author's signature of a reply (nil for the reporter's messages, and for
	// replies stored before signatures were kept). The store treats it as opaque; the server
	// copies it into bundles so that every inbox can check who wrote the reply.
	Signature *Signature `json:"signature,omitempty"`
	// Feedback: a reply that is the Directive's feedback.
	Feedback bool `json:"feedback,omitempty"`
	// Rewrapped is the blob's current age header when a share re-wrapped its file key to a new
	// recipient set (the stored header, which the author signed, stays). UpdateCase may set it.
	Rewrapped string `json:"rewrapped,omitempty"`
}

// Signature is what, besides the blob's bytes, rebuilds a reviewer's signed reply envelope
// (internal/envelope): its sequence number, its day and the signature itself. The envelope's
// Reviewer is the Message's Author, its Case the message's case and its Body the blob's age file.
type Signature struct {
	Seq uint64  `json:"seq"`
	Day day.Day `json:"day"`
	Sig []byte  `json:"sig"`
}

// equalMessages reports whether two message lists are equal, signatures compared by value.
func equalMessages(a, b []Message) bool {
	return slices.EqualFunc(a, b, func(x, y Message) bool {
		xs, ys := x.Signature, y.Signature
		x.Signature, y.Signature = nil, nil
		x.Rewrapped, y.Rewrapped = "", "" // a share may re-wrap a blob's key
		if x != y || (xs == nil) != (ys == nil) {
			return false
		}
		return xs == nil || xs.Seq == ys.Seq && xs.Day == ys.Day && bytes.Equal(xs.Sig, ys.Sig)
	})
}

// cloneMessages deep-copies msgs.
func cloneMessages(msgs []Message) []Message {
	out := slices.Clone(msgs)
	for i, m := range out {
		if m.Signature != nil {
			sig := *m.Signature
			sig.Sig = bytes.Clone(sig.Sig)
			out[i].Signature = &sig
		}
	}
	return out
}

// caseRecord is a Case as stored (see record.go).
type caseRecord struct {
	ID                CaseID    `json:"id"`
	Category          string    `json:"category"`
	Received          day.Day   `json:"received"`
	Acknowledged      day.Day   `json:"acknowledged"`
	Closed            day.Day   `json:"closed"`
	Status            string    `json:"status"`
	Reviewers         []string  `json:"reviewers"`
	ReporterRecipient string    `json:"reporter_recipient"`
	Lookup            []byte    `json:"lookup"`
	Holds             []string  `json:"holds"`
	Messages          []Message `json:"messages"`
	LogIndices        []int64   `json:"log_indices"`
	// Signed is absent from records written before signed changes were kept.
	Signed        []SignedChange `json:"signed,omitempty"`
	FeedbackGiven day.Day        `json:"feedback_given,omitempty"`
	Assignee      string         `json:"assignee,omitempty"`
	Outcome       string         `json:"outcome,omitempty"`
	Salt          []byte         `json:"salt,omitempty"`
}

func encodeCase(c *Case) []byte {
	return encodeRecord(caseRecord{c.ID, c.Category, c.Received, c.Acknowledged, c.Closed, c.Status,
		c.Reviewers, c.ReporterRecipient, c.Lookup[:], c.Holds, c.Messages, c.LogIndices, c.Signed,
		c.FeedbackGiven, c.Assignee, c.Outcome, c.Salt[:]})
}

// decodeCase decodes the record stored under key.
func decodeCase(key, v []byte) (*Case, error) {
	var r caseRecord
	if err := decodeRecord(v, &r); err != nil {
		return nil, err
	}
	if !bytes.Equal(key, r.ID[:]) || len(r.Lookup) != 32 || len(r.Salt) != 0 && len(r.Salt) != 32 {
		return nil, fmt.Errorf("%w: case record does not match its key", ErrCorrupt)
	}
	c := &Case{r.ID, r.Category, r.Received, r.Acknowledged, r.Closed, r.Status, r.Reviewers,
		r.ReporterRecipient, [32]byte(r.Lookup), r.Holds, r.Messages, r.LogIndices, r.Signed,
		r.FeedbackGiven, r.Assignee, r.Outcome, [32]byte{}}
	copy(c.Salt[:], r.Salt)
	return c, nil
}

// getCase reads a case inside tx.
func getCase(tx *bolt.Tx, id CaseID) (*Case, error) {
	v := tx.Bucket(bucketCases).Get(id[:])
	if v == nil {
		return nil, fmt.Errorf("store: case: %w", ErrNotFound)
	}
	return decodeCase(id[:], v)
}

// putCase stores c and appends its feed item and log entries (whose indices
// it records in c.LogIndices).
func putCase(tx *bolt.Tx, c *Case, item FeedItem, entries [][]byte) ([]int64, error) {
	idx, err := appendLog(tx, entries, c.Reviewers)
	if err != nil {
		return nil, err
	}
	c.LogIndices = append(c.LogIndices, idx...)
	if err := appendFeed(tx, item); err != nil {
		return nil, err
	}
	return idx, tx.Bucket(bucketCases).Put(c.ID[:], encodeCase(c))
}

// CreateCase stores a new case, committing its blobs, in one transaction.
// blobs must be exactly the blobs of c.Messages, each closed and pending.
// If c.ID is zero a random ID is assigned; CreateCase also sets each
// message's Size and c.LogIndices, so c reflects what was stored. A
// duplicate ID or Lookup fails with ErrExists. entries are appended to the
// case log; their indices are returned.
func (s *Store) CreateCase(c *Case, blobs []BlobID, entries [][]byte) ([]int64, error) {
	var idx []int64
	var nc *Case
	err := s.update(func(tx *bolt.Tx) (err error) {
		nc, idx, err = createCaseTx(tx, c, blobs, entries)
		return err
	})
	if err != nil {
		return nil, err
	}
	*c = *nc
	return idx, nil
}

// createCaseTx stores a copy of c inside tx and returns it as stored.
func createCaseTx(tx *bolt.Tx, c *Case, blobs []BlobID, entries [][]byte) (*Case, []int64, error) {
	if err := sameBlobs(c.Messages, blobs); err != nil {
		return nil, nil, err
	}
	nc := cloneCase(c)
	if nc.ID.IsZero() {
		nc.ID = newCaseID()
	}
	nc.LogIndices = nil
	if tx.Bucket(bucketCases).Get(nc.ID[:]) != nil {
		return nil, nil, fmt.Errorf("store: case ID: %w", ErrExists)
	}
	lookup := tx.Bucket(bucketLookup)
	if lookup.Get(nc.Lookup[:]) != nil {
		return nil, nil, fmt.Errorf("store: case lookup: %w", ErrExists)
	}
	if err := lookup.Put(nc.Lookup[:], nc.ID[:]); err != nil {
		return nil, nil, err
	}
	for i := range nc.Messages {
		if err := commitBlob(tx, &nc.Messages[i]); err != nil {
			return nil, nil, err
		}
	}
	idx, err := putCase(tx, nc, FeedItem{Case: nc.ID, Kind: FeedCase}, entries)
	if err != nil {
		return nil, nil, err
	}
	return cloneCase(nc), idx, nil
}

// sameBlobs checks that blobs lists exactly the (distinct) blobs of msgs.
func sameBlobs(msgs []Message, blobs []BlobID) error {
	if len(msgs) != len(blobs) {
		return fmt.Errorf("store: %d blobs for %d messages: %w", len(blobs), len(msgs), ErrInvalid)
	}
	seen := make(map[BlobID]bool, len(blobs))
	for _, b := range blobs {
		seen[b] = true
	}
	for _, m := range msgs {
		if !seen[m.Blob] {
			return fmt.Errorf("store: blobs do not match the messages: %w", ErrInvalid)
		}
		delete(seen, m.Blob)
	}
	return nil
}

// commitBlob un-pends a closed pending blob and sets m.Size.
func commitBlob(tx *bolt.Tx, m *Message) error {
	h := tx.Bucket(bucketHeaders).Get(m.Blob[:])
	if h == nil || tx.Bucket(bucketPending).Get(m.Blob[:]) == nil {
		return fmt.Errorf("store: committing blob: %w", ErrNotPending)
	}
	_, size := blobChunks(tx, m.Blob)
	m.Size = int64(len(h)) + size
	return tx.Bucket(bucketPending).Delete(m.Blob[:])
}

// AddMessage appends m to a case, committing its closed pending blob and
// appending a feed item and entries, in one transaction. The first message
// with Feedback sets the case's FeedbackGiven to its Day. It returns the
// entries' log indices.
func (s *Store) AddMessage(id CaseID, m Message, entries [][]byte) ([]int64, error) {
	var idx []int64
	err := s.update(func(tx *bolt.Tx) (err error) {
		idx, err = addMessage(tx, id, m, entries)
		return err
	})
	return idx, err
}

func addMessage(tx *bolt.Tx, id CaseID, m Message, entries [][]byte) ([]int64, error) {
	c, err := getCase(tx, id)
	if err != nil {
		return nil, err
	}
	if err := commitBlob(tx, &m); err != nil {
		return nil, err
	}
	c.Messages = append(c.Messages, m)
	if m.Feedback && c.FeedbackGiven == 0 {
		c.FeedbackGiven = m.Day
	}
	return putCase(tx, c, FeedItem{Case: id, Blob: m.Blob, Kind: FeedMessage}, entries)
}

// UpdateCase calls fn with a copy of the case and stores the result with a
// feed item and entries, in one transaction; if fn fails nothing is stored.
// fn may change the caller-owned fields (status, dates, holds, …) and append to
// Signed; changing ID, Lookup, Messages or LogIndices, or changing or removing
// an entry of Signed, fails with ErrImmutable. fn runs inside
// the transaction: it must be quick and must not call the Store.
func (s *Store) UpdateCase(id CaseID, fn func(*Case) error, entries [][]byte) ([]int64, error) {
	var idx []int64
	err := s.update(func(tx *bolt.Tx) (err error) {
		idx, err = updateCase(tx, id, fn, entries)
		return err
	})
	return idx, err
}

func updateCase(tx *bolt.Tx, id CaseID, fn func(*Case) error, entries [][]byte) ([]int64, error) {
	old, err := getCase(tx, id)
	if err != nil {
		return nil, err
	}
	c := cloneCase(old)
	if err := fn(c); err != nil {
		return nil, err
	}
	if c.ID != old.ID || c.Lookup != old.Lookup || !equalMessages(c.Messages, old.Messages) ||
		!slices.Equal(c.LogIndices, old.LogIndices) || !isPrefix(old.Signed, c.Signed) {
		return nil, ErrImmutable
	}
	return putCase(tx, c, FeedItem{Case: id, Kind: FeedUpdate}, entries)
}

// Case returns the case with the given ID.
func (s *Store) Case(id CaseID) (*Case, error) {
	var c *Case
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		c, err = getCase(tx, id)
		return err
	})
	return c, err
}

// CaseByLookup returns the case whose Lookup is lookup.
func (s *Store) CaseByLookup(lookup [32]byte) (*Case, error) {
	var c *Case
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketLookup).Get(lookup[:])
		if len(id) != len(CaseID{}) {
			return fmt.Errorf("store: case: %w", ErrNotFound)
		}
		var err error
		c, err = getCase(tx, CaseID(id))
		return err
	})
	return c, err
}

// casesBatch is how many cases Cases decodes per read transaction.
const casesBatch = 256

// Cases calls fn for every case in ID order, stopping at fn's first error,
// which it returns. fn runs outside any transaction and may call the Store;
// the iteration is not a snapshot (a case created or deleted meanwhile may or
// may not be seen), but no case is seen twice.
func (s *Store) Cases(fn func(*Case) error) error {
	var after []byte
	for {
		var batch []*Case
		err := s.view(func(tx *bolt.Tx) error {
			var err error
			batch, after, err = readCases(tx, after)
			return err
		})
		if err != nil {
			return err
		}
		for _, c := range batch {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(batch) < casesBatch {
			return nil
		}
	}
}

// readCases decodes up to casesBatch cases with keys after the given one.
func readCases(tx *bolt.Tx, after []byte) ([]*Case, []byte, error) {
	var out []*Case
	c := tx.Bucket(bucketCases).Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	for ; k != nil && len(out) < casesBatch; k, v = c.Next() {
		cs, err := decodeCase(k, v)
		if err != nil {
			return nil, nil, err
		}
		out, after = append(out, cs), cs.ID[:]
	}
	return out, after, nil
}

// DeleteCase removes a case, its lookup key, and every header and chunk of its
// blobs, appends a FeedDelete item and entries, in one transaction. A case
// with holds fails with ErrHeld. The freed pages still hold the bytes until
// Compact.
func (s *Store) DeleteCase(id CaseID, entries [][]byte) ([]int64, error) {
	return s.deleteCase(id, entries, "", nil)
}

// DeleteCaseNoting is DeleteCase that also stores val under meta key in the same transaction:
// the record of who deleted the case and why (an early deletion's signed envelope).
func (s *Store) DeleteCaseNoting(id CaseID, entries [][]byte, key string, val []byte) ([]int64, error) {
	if key == "" {
		return nil, fmt.Errorf("store: deleting a case: empty meta key: %w", ErrInvalid)
	}
	return s.deleteCase(id, entries, key, val)
}

func (s *Store) deleteCase(id CaseID, entries [][]byte, key string, val []byte) ([]int64, error) {
	var idx []int64
	err := s.update(func(tx *bolt.Tx) (err error) {
		idx, err = deleteCaseTx(tx, id, entries, key, val)
		return err
	})
	return idx, err
}

// deleteCaseTx is deleteCase inside tx.
func deleteCaseTx(tx *bolt.Tx, id CaseID, entries [][]byte, key string, val []byte) ([]int64, error) {
	c, err := getCase(tx, id)
	if err != nil {
		return nil, err
	}
	if key != "" {
		if err := tx.Bucket(bucketMeta).Put([]byte(key), val); err != nil {
			return nil, err
		}
	}
	if len(c.Holds) > 0 {
		return nil, ErrHeld
	}
	for _, m := range c.Messages {
		if _, err := deleteBlob(tx, m.Blob); err != nil {
			return nil, err
		}
	}
	if err := tx.Bucket(bucketLookup).Delete(c.Lookup[:]); err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketCases).Delete(id[:]); err != nil {
		return nil, err
	}
	idx, err := appendLog(tx, entries, c.Reviewers)
	if err != nil {
		return nil, err
	}
	return idx, appendFeed(tx, FeedItem{Case: id, Kind: FeedDelete})
}

// cloneCase deep-copies c.
func cloneCase(c *Case) *Case {
	n := *c
	n.Reviewers = slices.Clone(c.Reviewers)
	n.Holds = slices.Clone(c.Holds)
	n.Messages = cloneMessages(c.Messages)
	n.LogIndices = slices.Clone(c.LogIndices)
	n.Signed = cloneSigned(c.Signed)
	return &n
}
