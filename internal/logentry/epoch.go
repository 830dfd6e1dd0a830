package logentry

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

const epochMagic = "candor-epoch/v1\n"

// MaxEpochNote bounds the checkpoint note an epoch record carries (checkpoint.MaxNoteSize).
const MaxEpochNote = 32 << 10

// Epoch is the content of the first leaf of a log epoch after the first: what a restore from a
// backup lost. Its encoding (all numbers decimal, no sign, no leading zero but "0") is
//
//	candor-epoch/v1\n
//	epoch <Epoch>\n
//	previous <Previous>\n
//	witnessed <Witnessed>\n
//	backup <Backup>\n
//	restored <Restored>\n
//	lost <Lost>\n
//	\n
//	<Note, verbatim; may be empty>
type Epoch struct {
	Epoch int // the new epoch, ≥ 2
	// Previous is the origin of the epoch the restore ended.
	Previous string
	// Witnessed is the largest size of Previous's tree that a witness cosigned, as far as the
	// server knows (its own last cosigned note, and the witnesses' answers at the restore).
	Witnessed int64
	// Backup is the origin of the restored backup's log and Restored its size. The new epoch's
	// leaves after this one are the backup's leaves 0..Restored-1, re-tagged for the new origin.
	Backup   string
	Restored int64
	// Lost is how many witnessed entries of Previous the restore dropped: Witnessed − Restored if
	// the backup is of Previous (never negative), else Witnessed.
	Lost int64
	// Note is Previous's last cosigned checkpoint note the server held, or nil.
	Note []byte
}

// Validate reports whether e can be encoded.
func (e *Epoch) Validate() error {
	switch {
	case e.Epoch < 2:
		return invalid("epoch %d: a restore starts epoch 2 or later", e.Epoch)
	case !validOrigin(e.Previous) || !validOrigin(e.Backup):
		return invalid("origins must be 1..%d bytes of printable ASCII without space", MaxOriginLen)
	case e.Witnessed < 0 || e.Restored < 0:
		return invalid("negative size")
	case e.Lost != e.lost():
		return invalid("lost must be %d for these sizes", e.lost())
	case len(e.Note) > MaxEpochNote:
		return invalid("note of %d bytes, limit %d", len(e.Note), MaxEpochNote)
	}
	return nil
}

func (e *Epoch) lost() int64 {
	if e.Backup != e.Previous {
		return e.Witnessed
	}
	return max(0, e.Witnessed-e.Restored)
}

func validOrigin(s string) bool { return s != "" && printable(s, 0x21, MaxOriginLen) }

// Marshal returns the encoding of e.
func (e *Epoch) Marshal() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := fmt.Appendf(nil, "%sepoch %d\nprevious %s\nwitnessed %d\nbackup %s\nrestored %d\nlost %d\n\n",
		epochMagic, e.Epoch, e.Previous, e.Witnessed, e.Backup, e.Restored, e.Lost)
	return append(b, e.Note...), nil
}

// IsEpoch reports whether b looks like an epoch record rather than an entry.
func IsEpoch(b []byte) bool { return bytes.HasPrefix(b, []byte(epochMagic)) }

// ParseEpoch decodes an epoch record. It accepts only the canonical encoding.
func ParseEpoch(b []byte) (*Epoch, error) {
	if !IsEpoch(b) {
		return nil, ErrVersion
	}
	head, note, ok := bytes.Cut(b[len(epochMagic):], []byte("\n\n"))
	if !ok {
		return nil, malformed("epoch record without its blank line")
	}
	lines := strings.Split(string(head), "\n")
	names := []string{"epoch", "previous", "witnessed", "backup", "restored", "lost"}
	if len(lines) != len(names) {
		return nil, malformed("epoch record has %d lines, want %d", len(lines), len(names))
	}
	vals := make([]string, len(names))
	for i, l := range lines {
		v, ok := strings.CutPrefix(l, names[i]+" ")
		if !ok {
			return nil, malformed("epoch record line %d is not %q", i+1, names[i])
		}
		vals[i] = v
	}
	e := &Epoch{Previous: vals[1], Backup: vals[3]}
	nums := []*int64{nil, nil, &e.Witnessed, nil, &e.Restored, &e.Lost}
	var epoch int64
	nums[0] = &epoch
	for i, p := range nums {
		if p == nil {
			continue
		}
		n, err := strconv.ParseInt(vals[i], 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != vals[i] {
			return nil, malformed("%s is not a canonical decimal", names[i])
		}
		*p = n
	}
	if epoch > 1<<30 {
		return nil, malformed("epoch %d", epoch)
	}
	e.Epoch = int(epoch)
	if len(note) > 0 {
		e.Note = bytes.Clone(note)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}
