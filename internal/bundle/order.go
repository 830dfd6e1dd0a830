package bundle

import "errors"

// order enforces the record order and the cross-record rules; the Reader and the Writer share it.
type order struct {
	last   RecordType // 0 before the header
	origin string
	size   int64 // the checkpoint's tree size
	index  bool  // the CaseIndex was seen
	leaves bool  // the LeafList was seen
}

// repeatable are the record types that may appear more than once in a row.
var repeatable = map[RecordType]bool{TypeAlarm: true, TypeCase: true, TypeChange: true, TypeCard: true, TypeBlob: true}

func (o *order) check(rec Record) error {
	t := rec.Type()
	switch {
	case o.last == 0 && t != TypeHeader:
		return errors.New("the first record must be the header")
	case o.last == TypeHeader && t != TypeCheckpoint:
		return errors.New("the second record must be the checkpoint")
	case rank(t) < rank(o.last) || t == o.last && !repeatable[t]:
		return errors.New("record out of order or repeated")
	case t != TypeLeafList && rank(t) > rank(TypeLeafList) && !o.leaves:
		return errors.New("the leaf list must come before the cases")
	case t == TypeBlob && !o.index:
		return errors.New("the case index must come before the blobs")
	}
	switch r := rec.(type) {
	case *Header:
		o.origin = r.ServerOrigin
	case *Checkpoint:
		if r.Origin != o.origin {
			return errors.New("checkpoint origin differs from the header's")
		}
		o.size = r.Size
	case *LeafList:
		if r.Start+int64(len(r.Leaves)) != o.size {
			return errors.New("the leaf list does not end at the checkpoint's tree size")
		}
		o.leaves = true
	case *CaseIndex:
		o.index = true
	}
	o.last = t
	return nil
}

// canEnd reports whether the End record may come next: the leaf list and the case index are
// mandatory.
func (o *order) canEnd() bool { return o.leaves && o.index }
