package bundle

import "errors"

// order enforces the record order and the cross-record rules; the Reader and the Writer share it.
type order struct {
	last   RecordType // 0 before the header
	index1 bool       // a CaseIndex was seen
	origin string
	size   int64 // the checkpoint's tree size
	index  int64 // the last log entry index, -1 before the first
}

func (o *order) check(rec Record) error {
	t := rec.Type()
	switch {
	case o.last == 0 && t != TypeHeader:
		return errors.New("the first record must be the header")
	case o.last == TypeHeader && t != TypeCheckpoint:
		return errors.New("the second record must be the checkpoint")
	case o.last != 0 && o.last != TypeHeader && (rank(t) < rank(TypeConsistency) || rank(t) < rank(o.last)):
		return errors.New("record out of order")
	}
	switch r := rec.(type) {
	case *Header:
		o.origin, o.index = r.ServerOrigin, -1
	case *Checkpoint:
		if r.Origin != o.origin {
			return errors.New("checkpoint origin differs from the header's")
		}
		o.size = r.Size
	case *Consistency:
		if r.FromSize > o.size {
			return errors.New("consistency proof from a tree larger than the checkpoint's")
		}
	case *LogEntry:
		if r.Index <= o.index || r.Index >= o.size {
			return errors.New("log entry index not increasing or beyond the checkpoint")
		}
		o.index = r.Index
	case *CaseIndex:
		if o.index1 {
			return errors.New("more than one case index")
		}
		o.index1 = true
	}
	o.last = t
	return nil
}

// canEnd reports whether the End record may come next.
func (o *order) canEnd() bool { return o.last != 0 && o.last != TypeHeader }
