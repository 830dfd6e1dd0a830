package bundle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode"
	"unicode/utf8"

	"candor/internal/day"
	"candor/internal/logentry"

	"golang.org/x/mod/sumdb/tlog"
)

// RecordType identifies a record. The values are part of the format.
type RecordType uint8

// Record types, in the order they must appear.
const (
	TypeHeader      RecordType = 1
	TypeCheckpoint  RecordType = 2
	TypeConsistency RecordType = 3
	TypeLogEntry    RecordType = 4
	TypeCase        RecordType = 5
	TypeBlob        RecordType = 6
	TypeEnd         RecordType = 7
	TypeCaseIndex   RecordType = 8  // comes after the cards, before the blobs (see rank)
	TypeCard        RecordType = 9  // comes after the cases, before the case index
	TypeChange      RecordType = 10 // comes after the cases, before the cards
)

// rank is a record type's position in the record order; TypeCaseIndex, TypeCard and TypeChange
// were added after TypeEnd's value was fixed, so the order is not the numeric one.
func rank(t RecordType) int {
	switch t {
	case TypeChange:
		return int(TypeCase) + 1
	case TypeCard:
		return int(TypeCase) + 2
	case TypeCaseIndex:
		return int(TypeCase) + 3
	case TypeBlob, TypeEnd:
		return int(t) + 3
	}
	return int(t)
}

// ChangeKind says what a signed change does. The values are those of the envelope kinds.
type ChangeKind uint8

// Change kinds.
const (
	ChangeStatus ChangeKind = 2 // a status change (envelope.KindStatus)
	ChangeHold   ChangeKind = 3 // a hold placed or lifted (envelope.KindHold)
)

// Change is a reviewer's signed status change or hold of a case the bundle describes: the fields
// of the envelope the reviewer pushed but its Version, Cursor, TreeSize and Body (fixed for these
// kinds), so that every inbox can rebuild the envelope and verify it with the author's card, and
// derive the case's status and holds from the reviewers' signatures rather than the server's word.
// The format only bounds the fields; an empty Sig is refused.
type Change struct {
	Case   [16]byte
	Kind   ChangeKind
	Author string // the signer's fingerprint (the envelope's Reviewer)
	Seq    uint64
	Day    day.Day // the envelope's day (the reviewer's)
	Status string  // ChangeStatus: received, acknowledged, in-review or closed; empty otherwise
	Hold   bool    // ChangeHold: placed (true) or lifted (false); false otherwise
	Sig    []byte  // 1..MaxSignatureLen bytes
}

// Type implements Record.
func (*Change) Type() RecordType { return TypeChange }

func (c *Change) validate() error {
	switch {
	case c.Case == [16]byte{}:
		return invalid("zero case id")
	case c.Kind != ChangeStatus && c.Kind != ChangeHold:
		return invalid("unknown change kind %d", c.Kind)
	case !graphic(c.Author, MaxNameLen):
		return invalid("author must be 1..%d bytes of printable ASCII without space", MaxNameLen)
	case (c.Kind == ChangeStatus) != (c.Status != "") || c.Status != "" && !validStatus(c.Status):
		return invalid("status must be a known status for a status change and empty otherwise")
	case c.Hold && c.Kind != ChangeHold:
		return invalid("hold set on a status change")
	case len(c.Sig) == 0 || len(c.Sig) > MaxSignatureLen:
		return invalid("change signature of %d bytes", len(c.Sig))
	}
	return nil
}

func (c *Change) marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	var e encoder
	e.raw(c.Case[:])
	e.u8(byte(c.Kind))
	e.str8(c.Author)
	e.u64(c.Seq)
	e.u32(uint32(c.Day))
	e.str8(c.Status)
	e.u8(boolByte(c.Hold))
	e.u16(len(c.Sig))
	e.raw(c.Sig)
	return e.b, nil
}

func parseChange(p []byte) (*Change, error) {
	d := decoder{b: p}
	c := &Change{}
	copy(c.Case[:], d.next(16))
	c.Kind = ChangeKind(d.u8())
	c.Author = d.str8()
	c.Seq = d.u64()
	c.Day = d.day()
	c.Status = d.str8()
	hold := d.u8()
	c.Hold = hold == 1
	if sig := d.next(d.u16()); len(sig) > 0 {
		c.Sig = bytes.Clone(sig)
	}
	if hold > 1 {
		return nil, malformed("hold byte %d", hold)
	}
	return c, finish(&d, c.validate)
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

// Record is one of *Header, *Checkpoint, *Consistency, *LogEntry, *Case, *Change, *Card,
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

// Checkpoint is the server's signed checkpoint of the case log at the time of the bundle.
type Checkpoint struct {
	logentry.SignedCheckpoint
}

// Consistency proves that the tree of FromSize entries is a prefix of the checkpoint's tree.
type Consistency struct {
	FromSize int64
	Proof    tlog.TreeProof
}

// LogEntry is the log entry at Index: a logentry encoding, with its inclusion proof in the
// checkpoint's tree (tlog.CheckRecord against Checkpoint.Size and Checkpoint.Hash).
type LogEntry struct {
	Index int64
	Entry []byte
	Proof tlog.RecordProof
}

// CaseIndex lists every case the reviewer is on at the time of the bundle (sorted, no
// duplicates), so that the inbox notices a case that vanished without a logged deletion.
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
}

// BlobKind says what a blob is. The values are part of the format.
type BlobKind uint8

// Blob kinds.
const (
	BlobReport   BlobKind = 1
	BlobFollowUp BlobKind = 2
	BlobReply    BlobKind = 3
)

// Blob describes one age file; its payload (Size bytes) follows the record. Header ‖ payload is a
// standard age file.
//
// A reply (BlobReply) also carries its author's signature: Seq, SignedDay and Sig are the Seq,
// Day and Sig of the signed envelope the reviewer pushed, whose Body is Header ‖ payload, so that
// every inbox can rebuild the envelope and verify it with the author's card (the server cannot
// forge a reviewer's reply). For other kinds they are zero. The format only bounds them; an empty
// Sig on a reply is encodable, and refused by the inbox.
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
}

// Type implements Record.
func (*Header) Type() RecordType { return TypeHeader }

// Type implements Record.
func (*Checkpoint) Type() RecordType { return TypeCheckpoint }

// Type implements Record.
func (*Consistency) Type() RecordType { return TypeConsistency }

// Type implements Record.
func (*LogEntry) Type() RecordType { return TypeLogEntry }

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

func validStatus(s string) bool {
	switch s {
	case "received", "acknowledged", "in-review", "closed":
		return true
	}
	return false
}

// --- encoding ---

type encoder struct{ b []byte }

func (e *encoder) u8(v byte)    { e.b = append(e.b, v) }
func (e *encoder) u16(v int)    { e.b = binary.BigEndian.AppendUint16(e.b, uint16(v)) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) raw(v []byte) { e.b = append(e.b, v...) }
func (e *encoder) str8(s string) {
	e.u8(byte(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) list(l []string) {
	e.u8(byte(len(l)))
	for _, s := range l {
		e.str8(s)
	}
}

type decoder struct {
	b     []byte
	short bool
}

func (d *decoder) next(n int) []byte {
	if d.short || n > len(d.b) {
		d.short = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if v := d.next(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() int {
	if v := d.next(2); v != nil {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.next(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.next(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) day() day.Day { return day.Day(int32(d.u32())) }
func (d *decoder) str8() string { return string(d.next(int(d.u8()))) }

func (d *decoder) list() []string {
	n := int(d.u8())
	if n > MaxListLen {
		d.short = true
		return nil
	}
	var l []string
	for i := 0; i < n && !d.short; i++ {
		l = append(l, d.str8())
	}
	return l
}

func (d *decoder) done() error {
	if d.short {
		return malformed("record payload truncated or a count out of range")
	}
	if len(d.b) != 0 {
		return malformed("%d bytes of trailing data in a record", len(d.b))
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
	var e encoder
	e.u16(len(h.ServerKey))
	e.raw(h.ServerKey)
	e.str8(h.ServerOrigin)
	e.str8(h.Reviewer)
	e.u64(h.Since)
	e.u64(h.Until)
	e.u32(uint32(h.Day))
	return e.b, nil
}

func parseHeader(b []byte) (*Header, error) {
	d := decoder{b: b}
	h := &Header{}
	h.ServerKey = bytes.Clone(d.next(d.u16()))
	h.ServerOrigin = d.str8()
	h.Reviewer = d.str8()
	h.Since, h.Until = d.u64(), d.u64()
	h.Day = d.day()
	return h, finish(&d, h.validate)
}

func (c *Checkpoint) marshal() ([]byte, error) {
	b, err := c.SignedCheckpoint.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b, nil
}

func parseCheckpoint(b []byte) (*Checkpoint, error) {
	c, err := logentry.ParseSigned(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &Checkpoint{*c}, nil
}

func (c *Consistency) marshal() ([]byte, error) {
	if c.FromSize < 0 {
		return nil, invalid("negative size")
	}
	var e encoder
	e.u64(uint64(c.FromSize))
	b, err := logentry.AppendHashes(e.b, c.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b, nil
}

func parseConsistency(b []byte) (*Consistency, error) {
	d := decoder{b: b}
	c := &Consistency{FromSize: int64(d.u64())}
	if d.short || c.FromSize < 0 {
		return nil, malformed("consistency size")
	}
	p, rest, err := logentry.ReadHashes(d.b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return nil, malformed("data after the consistency proof")
	}
	c.Proof = p
	return c, nil
}

func (l *LogEntry) validate() error {
	if l.Index < 0 {
		return invalid("negative log index")
	}
	if _, err := logentry.Parse(l.Entry); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func (l *LogEntry) marshal() ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	var e encoder
	e.u64(uint64(l.Index))
	e.u16(len(l.Entry))
	e.raw(l.Entry)
	b, err := logentry.AppendHashes(e.b, l.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b, nil
}

func parseLogEntry(b []byte) (*LogEntry, error) {
	d := decoder{b: b}
	l := &LogEntry{Index: int64(d.u64())}
	l.Entry = bytes.Clone(d.next(d.u16()))
	if d.short {
		return nil, malformed("log entry truncated")
	}
	p, rest, err := logentry.ReadHashes(d.b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	l.Proof, d.b = p, rest
	return l, finish(&d, l.validate)
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
	var e encoder
	e.u32(uint32(len(x.Cases)))
	for _, id := range x.Cases {
		e.raw(id[:])
	}
	return e.b, nil
}

func parseCaseIndex(b []byte) (*CaseIndex, error) {
	d := decoder{b: b}
	n := d.u32()
	if n > MaxIndexCases {
		return nil, malformed("case index of %d cases", n)
	}
	x := &CaseIndex{}
	for i := uint32(0); i < n && !d.short; i++ {
		var id [16]byte
		copy(id[:], d.next(16))
		x.Cases = append(x.Cases, id)
	}
	return x, finish(&d, x.validate)
}

// finish checks the decoder and then the record's rules, reporting both as ErrMalformed.
func finish(d *decoder, validate func() error) error {
	if err := d.done(); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
