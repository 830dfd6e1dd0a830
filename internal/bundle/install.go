package bundle

import (
	"bytes"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// TypeInstallation is the record type of an [Installation]; it comes after the case index, before
// the blobs, at most once.
const TypeInstallation RecordType = 11

// Limits of an Installation record.
const (
	MinSaltLen      = 16
	MaxSaltLen      = 64
	MaxInstallNames = 255
)

// Installation tells the inbox what it needs to work offline beyond the cases: the receipt
// derivation salt and Argon2id parameters (so that `candor-inbox intake` can derive the key of a
// receipt code it draws for an oral report exactly as the server derives it at login), and the
// fingerprints of the reviewers registered now (so that `share` and `intake` refuse a removed or
// unknown reviewer before anything is signed). The bundle carries every registered reviewer's
// Card alongside.
//
//	11 Installation salt(1-byte len, 16..64) memory(4, KiB) time(4) threads(1)
//	                reviewers(1-byte count ≤ 255, each 1..64 printable ASCII, strictly increasing)
type Installation struct {
	Salt      []byte
	Memory    uint32
	Time      uint32
	Threads   uint8
	Reviewers []string
}

// Type implements Record.
func (*Installation) Type() RecordType { return TypeInstallation }

func (in *Installation) validate() error {
	switch {
	case len(in.Salt) < MinSaltLen || len(in.Salt) > MaxSaltLen:
		return invalid("salt of %d bytes, want %d..%d", len(in.Salt), MinSaltLen, MaxSaltLen)
	case in.Memory == 0 || in.Time == 0 || in.Threads == 0:
		return invalid("zero key-derivation parameter")
	case len(in.Reviewers) > MaxInstallNames:
		return invalid("more than %d reviewers", MaxInstallNames)
	}
	for i, r := range in.Reviewers {
		if !graphic(r, MaxNameLen) || i > 0 && in.Reviewers[i-1] >= r {
			return invalid("reviewers must be fingerprints in strictly increasing order")
		}
	}
	return nil
}

func (in *Installation) marshal() ([]byte, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	return build(func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(in.Salt) })
		b.AddUint32(in.Memory)
		b.AddUint32(in.Time)
		b.AddUint8(in.Threads)
		b.AddUint8(uint8(len(in.Reviewers)))
		for _, r := range in.Reviewers {
			addStr8(b, r)
		}
	})
}

func parseInstallation(p []byte) (*Installation, error) {
	s := cryptobyte.String(p)
	in := &Installation{}
	var salt cryptobyte.String
	var n uint8
	if !s.ReadUint8LengthPrefixed(&salt) || !s.ReadUint32(&in.Memory) || !s.ReadUint32(&in.Time) ||
		!s.ReadUint8(&in.Threads) || !s.ReadUint8(&n) {
		return nil, truncated()
	}
	in.Salt = bytes.Clone(salt)
	for range n {
		var r string
		if !readStr8(&s, &r) {
			return nil, truncated()
		}
		in.Reviewers = append(in.Reviewers, r)
	}
	return in, finish(s, in.validate)
}

// HasReviewer reports whether fp is registered.
func (in *Installation) HasReviewer(fp string) bool {
	_, ok := slices.BinarySearch(in.Reviewers, fp)
	return ok
}

// Installation writes the installation record (at most once, after the case index).
func (w *Writer) Installation(in *Installation) error { return w.record(in) }
