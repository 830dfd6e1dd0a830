package logentry

import (
	"fmt"

	"candor/internal/day"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/mod/sumdb/tlog"
)

// Type is the kind of event an entry records. The numeric values are part of the format.
type Type uint8

// Entry types.
const (
	CaseCreated     Type = 1  // a report arrived; Subject: hash of the report blob's age header
	MessageAdded    Type = 2  // a follow-up message; Subject: hash of its age header
	ReplyAdded      Type = 3  // a reviewer's reply; Subject: hash of its age header
	StatusChanged   Type = 4  // Value: the new status
	HoldChanged     Type = 5  // Value: "on" or "off"
	CaseDeleted     Type = 6  // retention or admin deletion
	ReviewerAdded   Type = 7  // Subject: hash of the reviewer's card
	ReviewerRemoved Type = 8  // Subject: hash of the reviewer's card
	SettingsChanged Type = 9  // Subject: hash of the new settings
	BackupTaken     Type = 10 // Subject: hash of the backup's age header
	RestoreDone     Type = 11 // Subject: hash of the restored backup's age header
	// Team work (DESIGN §12); written by the server for reviewers' signed envelopes.
	NoteAdded       Type = 12 // a reviewer's internal note; Subject: hash of its age header
	Assigned        Type = 13 // Value: the lead reviewer's fingerprint, or "none"
	CaseShared      Type = 14 // Subject: the new recipient-set commitment; Value: the new reviewer
	OutcomeRecorded Type = 15 // written with the StatusChanged entry that closes a case; Value: the outcome
	TokenIssued     Type = 16 // a sync token for a reviewer; Subject: hash of the reviewer's card
)

// Values of team entries that are fixed words.
const (
	ValueFeedback = "feedback" // a ReplyAdded entry's Value when the reply is the Directive's feedback
	ValueEarly    = "early"    // a CaseDeleted entry's Value for a reviewer's early deletion
	ValueIntake   = "intake"   // a CaseCreated entry's Value for a case a reviewer recorded (oral report)
	ValueNone     = "none"     // an Assigned entry's Value when nobody leads the case
)

var typeNames = [...]string{"", "case-created", "message-added", "reply-added", "status-changed",
	"hold-changed", "case-deleted", "reviewer-added", "reviewer-removed", "settings-changed",
	"backup-taken", "restore-done", "note-added", "assigned", "case-shared", "outcome-recorded", "token-issued"}

// String returns the type's name, e.g. "case-created", or "type(N)" if unknown.
func (t Type) String() string {
	if t.valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func (t Type) valid() bool { return t >= CaseCreated && t <= TokenIssued }

// Version is the current entry version.
const Version = 1

// Limits of an entry.
const (
	MaxActorLen = 64
	MaxValueLen = 32
)

const entryMagic = "candor-log-entry"

// Entry is one event of the case log.
type Entry struct {
	// Version is the encoding version. Marshal treats 0 as Version; Parse always sets it.
	Version uint8
	Type    Type
	Day     day.Day
	Case    [16]byte // zero if the event concerns no case
	// Actor is a reviewer fingerprint, "reporter", "server" or "admin": 1..64 bytes of printable
	// ASCII without space.
	Actor string
	// Subject is a hash that pins what the event refers to (see the Type constants), or zero.
	Subject [32]byte
	// Value is a short word such as a status name or "on"/"off" (≤ 32 bytes of printable ASCII);
	// never content.
	Value string
}

// Validate reports whether e can be encoded.
func (e *Entry) Validate() error {
	if e.Version != 0 && e.Version != Version {
		return fmt.Errorf("%w: entry version %d", ErrVersion, e.Version)
	}
	if !e.Type.valid() {
		return invalid("unknown entry type %d", uint8(e.Type))
	}
	if e.Actor == "" || !printable(e.Actor, 0x21, MaxActorLen) {
		return invalid("actor must be 1..%d bytes of printable ASCII without space", MaxActorLen)
	}
	if !printable(e.Value, 0x20, MaxValueLen) {
		return invalid("value must be at most %d bytes of printable ASCII", MaxValueLen)
	}
	return nil
}

// Marshal returns the canonical encoding of e, or an error wrapping ErrInvalid.
func (e *Entry) Marshal() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(entryMagic)+2+4+16+1+len(e.Actor)+32+1+len(e.Value)))
	b.AddBytes([]byte(entryMagic))
	b.AddUint8(Version)
	b.AddUint8(uint8(e.Type))
	b.AddUint32(uint32(e.Day))
	b.AddBytes(e.Case[:])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.Actor)) })
	b.AddBytes(e.Subject[:])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(e.Value)) })
	out, err := b.Bytes()
	if err != nil {
		return nil, invalid("%v", err)
	}
	return out, nil
}

// Hash returns the Merkle leaf hash of e: tlog.RecordHash of its encoding.
func (e *Entry) Hash() (tlog.Hash, error) {
	b, err := e.Marshal()
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(b), nil
}

// Parse decodes an entry. It rejects other versions (ErrVersion), truncated or trailing data and
// out-of-range fields (ErrMalformed).
func Parse(b []byte) (*Entry, error) {
	if len(b) < len(entryMagic)+1 || string(b[:len(entryMagic)]) != entryMagic {
		return nil, ErrVersion
	}
	if b[len(entryMagic)] != Version {
		return nil, fmt.Errorf("%w: entry version %d", ErrVersion, b[len(entryMagic)])
	}
	s := cryptobyte.String(b[len(entryMagic)+1:])
	e := &Entry{Version: Version}
	var typ uint8
	var dayBits uint32
	var id, subject []byte
	var actor, value cryptobyte.String
	if !s.ReadUint8(&typ) || !s.ReadUint32(&dayBits) || !s.ReadBytes(&id, 16) ||
		!s.ReadUint8LengthPrefixed(&actor) || !s.ReadBytes(&subject, 32) ||
		!s.ReadUint8LengthPrefixed(&value) {
		return nil, malformed("truncated")
	}
	if !s.Empty() {
		return nil, malformed("%d bytes of trailing data", len(s))
	}
	e.Type, e.Day, e.Actor, e.Value = Type(typ), day.Day(int32(dayBits)), string(actor), string(value)
	copy(e.Case[:], id)
	copy(e.Subject[:], subject)
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}
