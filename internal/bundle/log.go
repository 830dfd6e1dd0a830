package bundle

import (
	"bytes"
	"fmt"

	"candor/internal/checkpoint"
	"candor/internal/leaf"
)

// Checkpoint is the log's checkpoint at the time of the bundle: a C2SP signed note (both of the
// log's signature lines and the witnesses' cosignatures, internal/checkpoint). The bundle format
// checks only that the note's text is a checkpoint of the header's origin; the inbox verifies
// the signatures with checkpoint.Open.
type Checkpoint struct {
	Note []byte
	checkpoint.Checkpoint
}

// NewCheckpoint parses the text of a signed note for the Checkpoint record.
func NewCheckpoint(note []byte) (*Checkpoint, error) {
	c := &Checkpoint{Note: bytes.Clone(note)}
	return c, c.validate()
}

func (c *Checkpoint) validate() error {
	if len(c.Note) == 0 || len(c.Note) > checkpoint.MaxNoteSize {
		return invalid("checkpoint note of %d bytes", len(c.Note))
	}
	i := bytes.LastIndex(c.Note, []byte("\n\n"))
	if i < 0 {
		return invalid("checkpoint note without signatures")
	}
	cp, err := checkpoint.ParseText(c.Note[:i+1])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c.Checkpoint = *cp
	return nil
}

func (c *Checkpoint) marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return bytes.Clone(c.Note), nil
}

func parseCheckpoint(p []byte) (*Checkpoint, error) {
	c := &Checkpoint{Note: bytes.Clone(p)}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return c, nil
}

// AlarmKind says what a witness found.
type AlarmKind uint8

// Alarm kinds. The values are part of the format.
const (
	AlarmRollback AlarmKind = 1 // a witness holds a larger tree than the log
	AlarmFork     AlarmKind = 2 // a witness holds another tree of the log
)

// MaxAlarmLen bounds an alarm's text.
const MaxAlarmLen = 1024

// Alarm is a refusal by a witness that the server recorded: evidence that the store was rolled
// back or forked. An inbox refuses a bundle that carries one.
type Alarm struct {
	Kind AlarmKind
	Text string // 1..MaxAlarmLen bytes of printable ASCII: what the witness said, no content
}

// Type implements Record.
func (*Alarm) Type() RecordType { return TypeAlarm }

func (a *Alarm) validate() error {
	switch {
	case a.Kind != AlarmRollback && a.Kind != AlarmFork:
		return invalid("unknown alarm kind %d", a.Kind)
	case a.Text == "" || !printableText(a.Text, MaxAlarmLen):
		return invalid("alarm text must be 1..%d bytes of printable ASCII", MaxAlarmLen)
	}
	return nil
}

func printableText(s string, maxLen int) bool {
	if len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (a *Alarm) marshal() ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	return append([]byte{byte(a.Kind)}, a.Text...), nil
}

func parseAlarm(p []byte) (*Alarm, error) {
	if len(p) == 0 {
		return nil, truncated()
	}
	a := &Alarm{Kind: AlarmKind(p[0]), Text: string(p[1:])}
	return a, finish(nil, a.validate)
}

// MaxSealedKeyLen bounds a SealedKey record.
const MaxSealedKeyLen = 16 << 10

// SealedKey is the reviewer's addressing key (internal/leaf), sealed to the reviewer's age
// recipient: a standard age file whose plaintext is the 32-byte key. Only the reviewer can open
// it; with it the inbox recognises the leaves addressed to it.
type SealedKey struct {
	Age []byte
}

// Type implements Record.
func (*SealedKey) Type() RecordType { return TypeSealedKey }

func (k *SealedKey) validate() error {
	if len(k.Age) > MaxSealedKeyLen || !bytes.HasPrefix(k.Age, []byte(ageMagic)) {
		return invalid("sealed key is not an age file of at most %d bytes", MaxSealedKeyLen)
	}
	return nil
}

func (k *SealedKey) marshal() ([]byte, error) {
	if err := k.validate(); err != nil {
		return nil, err
	}
	return bytes.Clone(k.Age), nil
}

func parseSealedKey(p []byte) (*SealedKey, error) {
	k := &SealedKey{Age: bytes.Clone(p)}
	return k, finish(nil, k.validate)
}

// MaxLeafListLen bounds the LeafList record, the one record allowed beyond MaxRecordLen: about
// 400,000 leaves not addressed to the reviewer (163 bytes each with 8 tags).
const MaxLeafListLen = 64 << 20

// LeafList is every leaf of the log from the tree the inbox last verified to the checkpoint's
// tree (internal/leaf): those addressed to the reviewer in full, the others as their head.
type LeafList struct {
	leaf.List
}

// Type implements Record.
func (*LeafList) Type() RecordType { return TypeLeafList }

func (l *LeafList) marshal() ([]byte, error) {
	b, err := l.List.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(b) > MaxLeafListLen {
		return nil, invalid("leaf list of %d bytes, limit %d", len(b), MaxLeafListLen)
	}
	return b, nil
}

func parseLeafList(p []byte) (*LeafList, error) {
	l, err := leaf.ParseList(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &LeafList{*l}, nil
}
