package logentry

import (
	"encoding/binary"
	"fmt"

	"candor/internal/day"

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
)

var typeNames = [...]string{"", "case-created", "message-added", "reply-added", "status-changed",
	"hold-changed", "case-deleted", "reviewer-added", "reviewer-removed", "settings-changed",
	"backup-taken", "restore-done"}

// String returns the type's name, e.g. "case-created", or "type(N)" if unknown.
func (t Type) String() string {
	if t.valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func (t Type) valid() bool { return t >= CaseCreated && t <= RestoreDone }

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
	b := make([]byte, 0, len(entryMagic)+2+4+16+1+len(e.Actor)+32+1+len(e.Value))
	b = append(b, entryMagic...)
	b = append(b, Version, byte(e.Type))
	b = binary.BigEndian.AppendUint32(b, uint32(e.Day))
	b = append(b, e.Case[:]...)
	b = append(b, byte(len(e.Actor)))
	b = append(b, e.Actor...)
	b = append(b, e.Subject[:]...)
	b = append(b, byte(len(e.Value)))
	b = append(b, e.Value...)
	return b, nil
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
	d := decoder{b: b[len(entryMagic)+1:]}
	e := &Entry{Version: Version}
	e.Type = Type(d.byte())
	e.Day = day.Day(int32(d.uint32()))
	copy(e.Case[:], d.bytes(16))
	e.Actor = string(d.bytes(int(d.byte())))
	copy(e.Subject[:], d.bytes(32))
	e.Value = string(d.bytes(int(d.byte())))
	if err := d.done(); err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// decoder reads fixed fields from a byte slice; the first shortfall is remembered.
type decoder struct {
	b     []byte
	short bool
}

func (d *decoder) bytes(n int) []byte {
	if d.short || n > len(d.b) {
		d.short = true
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if v := d.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) done() error {
	if d.short {
		return malformed("truncated")
	}
	if len(d.b) != 0 {
		return malformed("%d bytes of trailing data", len(d.b))
	}
	return nil
}
