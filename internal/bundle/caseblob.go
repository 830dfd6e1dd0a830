package bundle

import (
	"bytes"
)

func (c *Case) validate() error {
	switch {
	case c.ID == [16]byte{}:
		return invalid("zero case id")
	case !text(c.Category, MaxNameLen):
		return invalid("category must be at most %d bytes of UTF-8 without control characters", MaxNameLen)
	case !validStatus(c.Status):
		return invalid("unknown status")
	case len(c.ReporterRecipient) > 0 && !graphic(c.ReporterRecipient, MaxRecipientLen):
		return invalid("reporter recipient must be at most %d bytes of printable ASCII", MaxRecipientLen)
	case c.LogIndex < 0:
		return invalid("negative log index")
	}
	for _, l := range [][]string{c.Reviewers, c.Holds} {
		if len(l) > MaxListLen {
			return invalid("more than %d fingerprints", MaxListLen)
		}
		for _, s := range l {
			if !graphic(s, MaxNameLen) {
				return invalid("fingerprint must be 1..%d bytes of printable ASCII without space", MaxNameLen)
			}
		}
	}
	return nil
}

func (c *Case) marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	var e encoder
	e.raw(c.ID[:])
	e.str8(c.Category)
	for _, d := range []int32{int32(c.Received), int32(c.AckDue), int32(c.FeedbackDue), int32(c.Closed)} {
		e.u32(uint32(d))
	}
	e.str8(c.Status)
	e.list(c.Reviewers)
	e.u16(len(c.ReporterRecipient))
	e.raw([]byte(c.ReporterRecipient))
	e.list(c.Holds)
	e.u8(boolByte(c.Deleted))
	e.u64(uint64(c.LogIndex))
	return e.b, nil
}

func parseCase(b []byte) (*Case, error) {
	d := decoder{b: b}
	c := &Case{}
	copy(c.ID[:], d.next(16))
	c.Category = d.str8()
	c.Received, c.AckDue, c.FeedbackDue, c.Closed = d.day(), d.day(), d.day(), d.day()
	c.Status = d.str8()
	c.Reviewers = d.list()
	c.ReporterRecipient = string(d.next(d.u16()))
	c.Holds = d.list()
	del := d.u8()
	c.Deleted = del == 1
	c.LogIndex = int64(d.u64())
	if del > 1 {
		return nil, malformed("deleted byte %d", del)
	}
	return c, finish(&d, c.validate)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (b *Blob) validate() error {
	switch {
	case b.Case == [16]byte{} || b.ID == [16]byte{}:
		return invalid("zero case or blob id")
	case b.Kind < BlobReport || b.Kind > BlobReply:
		return invalid("unknown blob kind %d", b.Kind)
	case !graphic(b.Author, MaxNameLen):
		return invalid("author must be 1..%d bytes of printable ASCII without space", MaxNameLen)
	case len(b.Header) > MaxAgeHeaderLen || !bytes.HasPrefix(b.Header, []byte(ageMagic)):
		return invalid("blob header is not an age header of at most %d bytes", MaxAgeHeaderLen)
	case b.Size < 0 || b.Size > MaxBlobSize:
		return invalid("blob size %d out of range", b.Size)
	case len(b.Sig) > MaxSignatureLen:
		return invalid("blob signature of %d bytes", len(b.Sig))
	case b.Kind != BlobReply && (b.Seq != 0 || b.SignedDay != 0 || len(b.Sig) != 0):
		return invalid("signature fields set on a blob that is not a reply")
	}
	return nil
}

func (b *Blob) marshal() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	var e encoder
	e.raw(b.Case[:])
	e.raw(b.ID[:])
	e.u8(byte(b.Kind))
	e.str8(b.Author)
	e.u32(uint32(b.Day))
	e.u32(uint32(len(b.Header)))
	e.raw(b.Header)
	e.u64(uint64(b.Size))
	e.u64(b.Seq)
	e.u32(uint32(b.SignedDay))
	e.u16(len(b.Sig))
	e.raw(b.Sig)
	return e.b, nil
}

func parseBlob(p []byte) (*Blob, error) {
	d := decoder{b: p}
	b := &Blob{}
	copy(b.Case[:], d.next(16))
	copy(b.ID[:], d.next(16))
	b.Kind = BlobKind(d.u8())
	b.Author = d.str8()
	b.Day = d.day()
	if n := d.u32(); n > MaxAgeHeaderLen {
		return nil, malformed("age header of %d bytes", n)
	} else {
		b.Header = bytes.Clone(d.next(int(n)))
	}
	b.Size = int64(d.u64())
	b.Seq = d.u64()
	b.SignedDay = d.day()
	if sig := d.next(d.u16()); len(sig) > 0 {
		b.Sig = bytes.Clone(sig)
	}
	return b, finish(&d, b.validate)
}

func parseRecord(t RecordType, p []byte) (Record, error) {
	switch t {
	case TypeHeader:
		return parseHeader(p)
	case TypeCheckpoint:
		return parseCheckpoint(p)
	case TypeConsistency:
		return parseConsistency(p)
	case TypeLogEntry:
		return parseLogEntry(p)
	case TypeCase:
		return parseCase(p)
	case TypeBlob:
		return parseBlob(p)
	case TypeCaseIndex:
		return parseCaseIndex(p)
	case TypeCard:
		return parseCard(p)
	case TypeChange:
		return parseChange(p)
	}
	return nil, malformed("unknown record type %d", t)
}
