package candortest

import (
	"fmt"
	"io"

	"candor/internal/bundle"
)

// CopyRecord writes rec, a record as a [bundle.Reader] returned it, to w; for a blob it copies the
// payload from payload. Tests that play a forging server rewrite a genuine bundle record by record
// with it, changing what they attack before the copy.
func CopyRecord(w *bundle.Writer, rec bundle.Record, payload io.Reader) error {
	switch rec := rec.(type) {
	case *bundle.Header:
		return w.Header(rec)
	case *bundle.Checkpoint:
		return w.Checkpoint(rec.Note)
	case *bundle.Alarm:
		return w.Alarm(rec)
	case *bundle.SealedKey:
		return w.SealedKey(rec)
	case *bundle.LeafList:
		return w.LeafList(rec)
	case *bundle.Case:
		return w.Case(rec)
	case *bundle.Change:
		return w.Change(rec)
	case *bundle.Card:
		return w.Card(rec)
	case *bundle.CaseIndex:
		return w.CaseIndex(rec)
	case *bundle.Installation:
		return w.Installation(rec)
	case *bundle.Blob:
		pw, err := w.Blob(rec)
		if err == nil {
			_, err = io.Copy(pw, payload)
		}
		return err
	}
	return fmt.Errorf("candortest: unknown bundle record %T", rec)
}
