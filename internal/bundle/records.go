package bundle

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"candor/internal/day"
	"candor/internal/envelope"

	"golang.org/x/crypto/cryptobyte"
)

// RecordType identifies a record. The values are part of the format.
type RecordType uint8

// Record types. The values are part of the format; 3 and 4 (version 1's consistency proofs and
// log entries) are retired: the leaf list replaces both.
const (
	TypeHeader     RecordType = 1
	TypeCheckpoint RecordType = 2
	TypeCase       RecordType = 5
	TypeBlob       RecordType = 6
	TypeEnd        RecordType = 7
	TypeCaseIndex  RecordType = 8
	TypeCard       RecordType = 9
	TypeChange     RecordType = 10
	TypeAlarm      RecordType = 20
	TypeSealedKey  RecordType = 21
	TypeLeafList   RecordType = 22
)

// order lists the record types in the order they must appear.
var recordOrder = []RecordType{TypeHeader, TypeCheckpoint, TypeAlarm, TypeSealedKey, TypeLeafList,
	TypeCase, TypeChange, TypeCard, TypeCaseIndex, TypeInstallation, TypeBlob, TypeEnd}

// rank is a record type's position in the record order (0 for unknown types).
func rank(t RecordType) int {
	for i, o := range recordOrder {
		if o == t {
			return i + 1
		}
	}
	return 0
}

// ChangeKind says what a signed change does. The values are those of the envelope kinds.
type ChangeKind uint8

// Change kinds.
const (
	ChangeStatus ChangeKind = 2 // a status change (envelope.KindStatus); closing carries an outcome
	ChangeHold   ChangeKind = 3 // a hold placed or lifted (envelope.KindHold)
	ChangeAssign ChangeKind = 6 // the case's lead reviewer (envelope.KindAssign)
	ChangeShare  ChangeKind = 7 // the case shared with another reviewer (envelope.KindShare)
	ChangeDelete ChangeKind = 8 // an early deletion (envelope.KindDelete); its case is gone
)

// Change is a reviewer's signed change of a case the bundle describes (or, for ChangeDelete, of a
// case whose logged deletion the bundle carries): the fields of the envelope the reviewer pushed
// but its Version, Cursor, TreeSize and Feedback (fixed for these kinds), so that every inbox can
// rebuild the envelope ([Change.Envelope]) and verify it with the author's card, and derive the
// case's status, holds, lead and reviewers from the reviewers' signatures rather than the
// server's word. The fields obey the envelope's rules for the kind; an empty Sig is refused.
type Change struct {
	Case       [16]byte
	Kind       ChangeKind
	Author     string // the signer's fingerprint (the envelope's Reviewer)
	Seq        uint64
	Day        day.Day  // the envelope's day (the reviewer's)
	Status     string   // ChangeStatus: received, acknowledged, in-review or closed; empty otherwise
	Hold       bool     // ChangeHold: placed (true) or lifted (false); false otherwise
	Outcome    string   // ChangeStatus closing the case: the outcome
	Target     string   // ChangeAssign: the lead (empty = nobody); ChangeShare: the new reviewer
	Commitment [32]byte // ChangeShare: the new recipient-set commitment
	Body       []byte   // ChangeShare: an envelope.ShareBody; ChangeDelete: the sealed reason
	Sig        []byte   // 1..MaxSignatureLen bytes
}

// Type implements Record.
func (*Change) Type() RecordType { return TypeChange }

// Envelope returns the signed envelope c was made from, for envelope.Verify.
func (c *Change) Envelope() *envelope.Envelope {
	return &envelope.Envelope{Kind: envelope.Kind(c.Kind), Reviewer: c.Author, Seq: c.Seq, Case: c.Case,
		Day: c.Day, Status: c.Status, Hold: c.Hold, Outcome: c.Outcome, Target: c.Target,
		Commitment: c.Commitment, Body: c.Body, Sig: c.Sig}
}

func (c *Change) validate() error {
	switch c.Kind {
	case ChangeStatus, ChangeHold, ChangeAssign, ChangeShare, ChangeDelete:
	default:
		return invalid("unknown change kind %d", c.Kind)
	}
	switch {
	case c.Case == [16]byte{}:
		return invalid("zero case id")
	case !graphic(c.Author, MaxNameLen):
		return invalid("author must be 1..%d bytes of printable ASCII without space", MaxNameLen)
	case len(c.Sig) == 0 || len(c.Sig) > MaxSignatureLen:
		return invalid("change signature of %d bytes", len(c.Sig))
	case len(c.Body) > MaxRecordLen:
		return invalid("change body of %d bytes", len(c.Body))
	}
	if _, err := c.Envelope().SignedMessage(); err != nil {
		return invalid("%s change: %v", envelope.Kind(c.Kind), err)
	}
	return nil
}

func (c *Change) marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return build(func(b *cryptobyte.Builder) { addChange(b, c) })
}

func addChange(b *cryptobyte.Builder, c *Change) {
	b.AddBytes(c.Case[:])
	b.AddUint8(uint8(c.Kind))
	addStr8(b, c.Author)
	b.AddUint64(c.Seq)
	b.AddUint32(uint32(c.Day))
	addStr8(b, c.Status)
	b.AddUint8(boolByte(c.Hold))
	addStr8(b, c.Outcome)
	addStr8(b, c.Target)
	b.AddBytes(c.Commitment[:])
	b.AddUint32LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.Body) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.Sig) })
}

func parseChange(p []byte) (*Change, error) {
	s := cryptobyte.String(p)
	c := &Change{}
	var id, commitment, body []byte
	var kind, hold uint8
	var bodyLen uint32
	var sig cryptobyte.String
	if !s.ReadBytes(&id, 16) || !s.ReadUint8(&kind) || !readStr8(&s, &c.Author) || !s.ReadUint64(&c.Seq) ||
		!readDay(&s, &c.Day) || !readStr8(&s, &c.Status) || !s.ReadUint8(&hold) ||
		!readStr8(&s, &c.Outcome) || !readStr8(&s, &c.Target) || !s.ReadBytes(&commitment, 32) ||
		!s.ReadUint32(&bodyLen) || bodyLen > MaxRecordLen || !s.ReadBytes(&body, int(bodyLen)) ||
		!s.ReadUint16LengthPrefixed(&sig) {
		return nil, truncated()
	}
	if hold > 1 {
		return nil, malformed("hold byte %d", hold)
	}
	copy(c.Case[:], id)
	c.Kind, c.Hold, c.Sig = ChangeKind(kind), hold == 1, cloneOrNil(sig)
	c.Commitment, c.Body = [32]byte(commitment), cloneOrNil(body)
	return c, finish(s, c.validate)
}

// Card is the public card (crypto.Card text) of a reviewer on one of the bundle's cases or of a
// reply's author, so that the inbox can encrypt replies to every reviewer of a case and verify who
// wrote each reply. The inbox parses it and checks its self-signature and fingerprint; the format
// only bounds it.
type Card struct {
	Text []byte
}

// MaxCardLen bounds a Card record.
const MaxCardLen = 16 << 10

// Type implements Record.
func (*Card) Type() RecordType { return TypeCard }

func (c *Card) validate() error {
	if len(c.Text) == 0 || len(c.Text) > MaxCardLen {
		return invalid("card of %d bytes", len(c.Text))
	}
	return nil
}

func (c *Card) marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return bytes.Clone(c.Text), nil
}

func parseCard(b []byte) (*Card, error) {
	c := &Card{Text: bytes.Clone(b)}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return c, nil
}

// Record is one of *Header, *Checkpoint, *Alarm, *SealedKey, *LeafList, *Case, *Change, *Card,
// *CaseIndex and *Blob.
type Record interface {
	Type() RecordType
	marshal() ([]byte, error)
}

// Header describes the bundle: who made it, for whom, and which slice of the reviewer's feed.
type Header struct {
	ServerKey    []byte // the server's marshalled verify key
	ServerOrigin string // the log origin; equals the checkpoint's
	Reviewer     string // the fingerprint of the reviewer the bundle is for
	Since, Until uint64 // feed cursors: the bundle holds the feed items in (Since, Until]
	Day          day.Day
}

// CaseIndex lists every case the reviewer is on at the time of the bundle (sorted, no
// duplicates), so that the inbox notices a case that vanished without a logged deletion. Every
// bundle carries exactly one.
type CaseIndex struct {
	Cases [][16]byte
}

// MaxIndexCases bounds a CaseIndex (it must fit MaxRecordLen).
const MaxIndexCases = 60000

// Case is the metadata of one case the reviewer may read. It holds no content.
type Case struct {
	ID                                    [16]byte
	Category                              string
	Received, AckDue, FeedbackDue, Closed day.Day  // Closed is zero while the case is open
	Status                                string   // received, acknowledged, in-review or closed
	Reviewers                             []string // fingerprints of the case's reviewers (age recipients)
	ReporterRecipient                     string   // the reporter's age recipient, for replies
	Holds                                 []string // fingerprints of reviewers holding the case
	Deleted                               bool
	LogIndex                              int64 // index of the case's CaseCreated entry
	// Salt is the salt of the recipient-set commitment (leaf.RecipientSet.Commit) that the
	// case's CaseCreated entry, or its latest share, carries: with it the inbox checks that
	// Reviewers and ReporterRecipient are the committed set.
	Salt [32]byte
}

// BlobKind says what a blob is. The values are part of the format.
type BlobKind uint8

// Blob kinds.
const (
	BlobReport   BlobKind = 1
	BlobFollowUp BlobKind = 2
	BlobReply    BlobKind = 3
	BlobNote     BlobKind = 4 // a reviewer's internal note, sealed to the case's reviewers only
)

// Blob describes one age file; its payload (Size bytes) follows the record. Header ‖ payload is a
// standard age file.
//
// A reply (BlobReply) or a note (BlobNote) also carries its author's signature: Seq, SignedDay,
// Feedback and Sig are the Seq, Day, Feedback and Sig of the signed envelope the reviewer pushed,
// whose Body is Header ‖ payload — or SignedHeader ‖ payload once the case was shared and Header
// is the re-wrapped header a signed share listed — so that every inbox can rebuild the envelope
// and verify it with the author's card (the server cannot forge a reviewer's reply or note). For
// other kinds they are zero. The format only bounds them; an empty Sig on a reply is encodable,
// and refused by the inbox.
type Blob struct {
	Case      [16]byte
	ID        [16]byte
	Kind      BlobKind
	Author    string // "reporter" or a reviewer fingerprint
	Day       day.Day
	Header    []byte  // the age header
	Size      int64   // payload bytes
	Seq       uint64  // BlobReply: the envelope's sequence number
	SignedDay day.Day // BlobReply: the envelope's day (the reviewer's, not the server's Day)
	Sig       []byte  // BlobReply: the envelope's signature, at most MaxSignatureLen bytes
	Feedback  bool    // BlobReply: the reply is the Directive's feedback
	// SignedHeader is the header the author signed, when a share replaced it with Header (a
	// signed or note blob only); empty otherwise.
	SignedHeader []byte
}

// Type implements Record.
func (*Header) Type() RecordType { return TypeHeader }

// Type implements Record.
func (*Checkpoint) Type() RecordType { return TypeCheckpoint }

// Type implements Record.
func (*Case) Type() RecordType { return TypeCase }

// Type implements Record.
func (*CaseIndex) Type() RecordType { return TypeCaseIndex }

// Type implements Record.
func (*Blob) Type() RecordType { return TypeBlob }

const ageMagic = "age-encryption.org/v1\n"

func graphic(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func text(s string, maxLen int) bool {
	if len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// statusWords lists the case statuses for error messages (envelope owns them).
func statusWords() string { return strings.Join(envelope.Statuses(), ", ") }

// --- encoding: golang.org/x/crypto/cryptobyte, one style for every record ---

// build runs add on a fresh builder and returns its bytes, reporting a builder error (a field
// longer than its length prefix allows, which validation rules out) as ErrInvalid.
func build(add func(b *cryptobyte.Builder)) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	add(b)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return out, nil
}

func addStr8(b *cryptobyte.Builder, s string) {
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addList(b *cryptobyte.Builder, l []string) {
	b.AddUint8(uint8(len(l)))
	for _, s := range l {
		addStr8(b, s)
	}
}

func readStr8(s *cryptobyte.String, out *string) bool {
	var v cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&v) {
		return false
	}
	*out = string(v)
	return true
}

func readDay(s *cryptobyte.String, out *day.Day) bool {
	var v uint32
	if !s.ReadUint32(&v) {
		return false
	}
	*out = day.Day(int32(v))
	return true
}

// readList reads a count byte (at most MaxListLen) and that many str8 strings; no strings read
// as nil, so that decoding is canonical for reflect.DeepEqual.
func readList(s *cryptobyte.String, out *[]string) bool {
	var n uint8
	if !s.ReadUint8(&n) || n > MaxListLen {
		return false
	}
	var l []string
	for range n {
		var v string
		if !readStr8(s, &v) {
			return false
		}
		l = append(l, v)
	}
	*out = l
	return true
}

// cloneOrNil copies b, returning nil for an empty b.
func cloneOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func truncated() error {
	return malformed("record payload truncated or a count out of range")
}

// finish checks that s was read to its end and then the record's rules, reporting both as
// ErrMalformed.
func finish(s cryptobyte.String, validate func() error) error {
	if !s.Empty() {
		return malformed("%d bytes of trailing data in a record", len(s))
	}
	if err := validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// --- per record ---

func (h *Header) validate() error {
	switch {
	case len(h.ServerKey) == 0 || len(h.ServerKey) > MaxServerKeyLen:
		return invalid("server key of %d bytes", len(h.ServerKey))
	case !graphic(h.ServerOrigin, MaxOriginLen):
		return invalid("origin must be 1..%d bytes of printable ASCII without space", MaxOriginLen)
	case !graphic(h.Reviewer, MaxNameLen):
		return invalid("reviewer must be 1..%d bytes of printable ASCII without space", MaxNameLen)
	case h.Until < h.Since:
		return invalid("until %d before since %d", h.Until, h.Since)
	}
	return nil
}

func (h *Header) marshal() ([]byte, error) {
	if err := h.validate(); err != nil {
		return nil, err
	}
	return build(func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.ServerKey) })
		addStr8(b, h.ServerOrigin)
		addStr8(b, h.Reviewer)
		b.AddUint64(h.Since)
		b.AddUint64(h.Until)
		b.AddUint32(uint32(h.Day))
	})
}

func parseHeader(p []byte) (*Header, error) {
	s := cryptobyte.String(p)
	h := &Header{}
	var key cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&key) || !readStr8(&s, &h.ServerOrigin) || !readStr8(&s, &h.Reviewer) ||
		!s.ReadUint64(&h.Since) || !s.ReadUint64(&h.Until) || !readDay(&s, &h.Day) {
		return nil, truncated()
	}
	h.ServerKey = bytes.Clone(key)
	return h, finish(s, h.validate)
}

func (x *CaseIndex) validate() error {
	if len(x.Cases) > MaxIndexCases {
		return invalid("more than %d cases in the index", MaxIndexCases)
	}
	for i, id := range x.Cases {
		if id == [16]byte{} || (i > 0 && bytes.Compare(x.Cases[i-1][:], id[:]) >= 0) {
			return invalid("case index not sorted, duplicated or holding a zero id")
		}
	}
	return nil
}

func (x *CaseIndex) marshal() ([]byte, error) {
	if err := x.validate(); err != nil {
		return nil, err
	}
	return build(func(b *cryptobyte.Builder) {
		b.AddUint32(uint32(len(x.Cases)))
		for _, id := range x.Cases {
			b.AddBytes(id[:])
		}
	})
}

func parseCaseIndex(p []byte) (*CaseIndex, error) {
	s := cryptobyte.String(p)
	var n uint32
	if !s.ReadUint32(&n) {
		return nil, truncated()
	}
	if n > MaxIndexCases {
		return nil, malformed("case index of %d cases", n)
	}
	x := &CaseIndex{}
	for range n {
		var id []byte
		if !s.ReadBytes(&id, 16) {
			return nil, truncated()
		}
		x.Cases = append(x.Cases, [16]byte(id))
	}
	return x, finish(s, x.validate)
}
