package bundle

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"

	"candor/internal/day"
	"candor/internal/envelope"
)

func (c *Case) validate() error {
	switch {
	case c.ID == [16]byte{}:
		return invalid("zero case id")
	case !text(c.Category, MaxNameLen):
		return invalid("category must be at most %d bytes of UTF-8 without control characters", MaxNameLen)
	case !envelope.ValidStatus(c.Status):
		return invalid("status must be one of %s", statusWords())
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
	return build(func(b *cryptobyte.Builder) {
		b.AddBytes(c.ID[:])
		addStr8(b, c.Category)
		for _, d := range []day.Day{c.Received, c.AckDue, c.FeedbackDue, c.Closed} {
			b.AddUint32(uint32(d))
		}
		addStr8(b, c.Status)
		addList(b, c.Reviewers)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(c.ReporterRecipient)) })
		addList(b, c.Holds)
		b.AddUint8(boolByte(c.Deleted))
		b.AddUint64(uint64(c.LogIndex))
		b.AddBytes(c.Salt[:])
	})
}

func parseCase(p []byte) (*Case, error) {
	s := cryptobyte.String(p)
	c := &Case{}
	var id []byte
	var recipient cryptobyte.String
	var del uint8
	var logIndex uint64
	var salt []byte
	if !s.ReadBytes(&id, 16) || !readStr8(&s, &c.Category) ||
		!readDay(&s, &c.Received) || !readDay(&s, &c.AckDue) || !readDay(&s, &c.FeedbackDue) ||
		!readDay(&s, &c.Closed) || !readStr8(&s, &c.Status) || !readList(&s, &c.Reviewers) ||
		!s.ReadUint16LengthPrefixed(&recipient) || !readList(&s, &c.Holds) || !s.ReadUint8(&del) ||
		!s.ReadUint64(&logIndex) || !s.ReadBytes(&salt, 32) {
		return nil, truncated()
	}
	if del > 1 {
		return nil, malformed("deleted byte %d", del)
	}
	c.ID, c.ReporterRecipient, c.Deleted, c.LogIndex = [16]byte(id), string(recipient), del == 1, int64(logIndex)
	c.Salt = [32]byte(salt)
	return c, finish(s, c.validate)
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
	case b.Kind < BlobReport || b.Kind > BlobNote:
		return invalid("unknown blob kind %d", b.Kind)
	case !graphic(b.Author, MaxNameLen):
		return invalid("author must be 1..%d bytes of printable ASCII without space", MaxNameLen)
	case len(b.Header) > MaxAgeHeaderLen || !bytes.HasPrefix(b.Header, []byte(ageMagic)):
		return invalid("blob header is not an age header of at most %d bytes", MaxAgeHeaderLen)
	case b.Size < 0 || b.Size > MaxBlobSize:
		return invalid("blob size %d out of range", b.Size)
	case len(b.Sig) > MaxSignatureLen:
		return invalid("blob signature of %d bytes", len(b.Sig))
	case !b.signed() && (b.Seq != 0 || b.SignedDay != 0 || len(b.Sig) != 0 || len(b.SignedHeader) != 0):
		return invalid("signature fields set on a blob that is not a reply or a note")
	case b.Feedback && b.Kind != BlobReply:
		return invalid("feedback set on a blob that is not a reply")
	case len(b.SignedHeader) > MaxAgeHeaderLen || len(b.SignedHeader) > 0 && !bytes.HasPrefix(b.SignedHeader, []byte(ageMagic)):
		return invalid("signed header is not an age header of at most %d bytes", MaxAgeHeaderLen)
	}
	return nil
}

func (b *Blob) marshal() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	return build(func(bb *cryptobyte.Builder) {
		bb.AddBytes(b.Case[:])
		bb.AddBytes(b.ID[:])
		bb.AddUint8(uint8(b.Kind))
		addStr8(bb, b.Author)
		bb.AddUint32(uint32(b.Day))
		bb.AddUint32LengthPrefixed(func(bb *cryptobyte.Builder) { bb.AddBytes(b.Header) })
		bb.AddUint64(uint64(b.Size))
		bb.AddUint64(b.Seq)
		bb.AddUint32(uint32(b.SignedDay))
		bb.AddUint16LengthPrefixed(func(bb *cryptobyte.Builder) { bb.AddBytes(b.Sig) })
		bb.AddUint8(boolByte(b.Feedback))
		bb.AddUint32LengthPrefixed(func(bb *cryptobyte.Builder) { bb.AddBytes(b.SignedHeader) })
	})
}

// signed reports whether b's kind carries its author's envelope signature.
func (b *Blob) signed() bool { return b.Kind == BlobReply || b.Kind == BlobNote }

func parseBlob(p []byte) (*Blob, error) {
	s := cryptobyte.String(p)
	b := &Blob{}
	var caseID, id, header []byte
	var kind uint8
	var headerLen uint32
	if !s.ReadBytes(&caseID, 16) || !s.ReadBytes(&id, 16) || !s.ReadUint8(&kind) ||
		!readStr8(&s, &b.Author) || !readDay(&s, &b.Day) || !s.ReadUint32(&headerLen) {
		return nil, truncated()
	}
	if headerLen > MaxAgeHeaderLen {
		return nil, malformed("age header of %d bytes", headerLen)
	}
	var size uint64
	var sig cryptobyte.String
	var feedback uint8
	var signedLen uint32
	var signedHeader []byte
	if !s.ReadBytes(&header, int(headerLen)) || !s.ReadUint64(&size) || !s.ReadUint64(&b.Seq) ||
		!readDay(&s, &b.SignedDay) || !s.ReadUint16LengthPrefixed(&sig) || !s.ReadUint8(&feedback) ||
		!s.ReadUint32(&signedLen) || signedLen > MaxAgeHeaderLen || !s.ReadBytes(&signedHeader, int(signedLen)) {
		return nil, truncated()
	}
	if feedback > 1 {
		return nil, malformed("feedback byte %d", feedback)
	}
	b.Case, b.ID, b.Kind, b.Header = [16]byte(caseID), [16]byte(id), BlobKind(kind), bytes.Clone(header)
	b.Size, b.Sig, b.Feedback, b.SignedHeader = int64(size), cloneOrNil(sig), feedback == 1, cloneOrNil(signedHeader)
	return b, finish(s, b.validate)
}

func parseRecord(t RecordType, p []byte) (Record, error) {
	switch t {
	case TypeHeader:
		return parseHeader(p)
	case TypeCheckpoint:
		return parseCheckpoint(p)
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
	case TypeAlarm:
		return parseAlarm(p)
	case TypeSealedKey:
		return parseSealedKey(p)
	case TypeLeafList:
		return parseLeafList(p)
	case TypeInstallation:
		return parseInstallation(p)
	}
	return nil, malformed("unknown record type %d", t)
}
