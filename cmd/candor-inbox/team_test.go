package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"time"

	"candor/crypto"
	"candor/internal/bundle"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
	"candor/server/synctest"
)

// teamFixture runs the candorsrv commands of the team-work scripts; ok is false for a command it
// does not know.
func teamFixture(srv *synctest.Server, args []string) (ok bool, err error) {
	switch args[0] {
	case "report-code": // report-code SRV TEXT CODEFILE [CARDFILE...]: submit to the cards' reviewers
		return true, reportCode(srv, args[2], args[3], args[4:])
	case "casepage": // casepage SRV CODEFILE OUT: the reporter's case page
		return true, casePage(srv, args[2], args[3])
	case "send": // send SRV CODEFILE TEXT: a reporter's follow-up message
		r, err := srv.Login(token(args[2]))
		if err != nil {
			return true, err
		}
		return true, r.Send(args[3])
	case "forge-note": // a note whose signature was altered
		return true, forgeBundle(srv, token(args[2]), args[3], forgeKind(bundle.BlobNote))
	case "replay-note": // a genuine note sent again under another blob ID
		return true, forgeBundle(srv, token(args[2]), args[3], replayNote)
	case "forge-assign": // an assignment whose target was changed
		return true, forgeBundle(srv, token(args[2]), args[3], forgeAssign)
	case "delete-unsigned": // delete-unsigned SRV CARDFILE: log an early deletion in the card's name, unsigned
		return true, deleteUnsigned(srv, args[2])
	case "remove": // remove SRV CARDFILE: unregister a reviewer
		fp, err := cardFingerprint(args[2])
		if err == nil {
			_, err = srv.Store.DeleteReviewer(fp, nil)
		}
		return true, err
	}
	return false, nil
}

func cardFingerprint(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	c, err := crypto.ParseCard(b)
	if err != nil {
		return "", err
	}
	return c.Fingerprint(), nil
}

func reportCode(srv *synctest.Server, text, out string, cards []string) error {
	var fps []string
	for _, c := range cards {
		fp, err := cardFingerprint(c)
		if err != nil {
			return err
		}
		fps = append(fps, fp)
	}
	code, err := srv.Submit(text, fps)
	if err != nil {
		return err
	}
	return os.WriteFile(out, []byte(code+"\n"), 0o600)
}

func casePage(srv *synctest.Server, codeFile, out string) error {
	r, err := srv.Login(token(codeFile))
	if err != nil {
		return err
	}
	page, err := r.CasePage()
	if err != nil {
		return err
	}
	return os.WriteFile(out, []byte(page), 0o600)
}

// plain copies a record unchanged.
func plain(w *bundle.Writer, rec bundle.Record, r io.Reader) error {
	if b, ok := rec.(*bundle.Blob); ok && b.Kind == bundle.BlobReply && len(b.Sig) > 0 {
		b.Sig[len(b.Sig)-1] ^= 1 // copyForged flips reply signatures: flip back
	}
	return copyForged(w, rec, r)
}

func forgeKind(kind bundle.BlobKind) func(*bundle.Writer, bundle.Record, io.Reader) error {
	return func(w *bundle.Writer, rec bundle.Record, r io.Reader) error {
		if b, ok := rec.(*bundle.Blob); ok && b.Kind == kind && len(b.Sig) > 0 {
			b.Sig = bytes.Clone(b.Sig)
			b.Sig[len(b.Sig)/2] ^= 1
		}
		return plain(w, rec, r)
	}
}

func replayNote(w *bundle.Writer, rec bundle.Record, r io.Reader) error {
	b, ok := rec.(*bundle.Blob)
	if !ok || b.Kind != bundle.BlobNote {
		return plain(w, rec, r)
	}
	payload, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for range 2 {
		pw, err := w.Blob(b)
		if err == nil {
			_, err = pw.Write(payload)
		}
		if err != nil {
			return err
		}
		nb := *b
		rand.Read(nb.ID[:])
		b = &nb
	}
	return nil
}

func forgeAssign(w *bundle.Writer, rec bundle.Record, r io.Reader) error {
	if c, ok := rec.(*bundle.Change); ok && c.Kind == bundle.ChangeAssign {
		c.Target = ""
	}
	return plain(w, rec, r)
}

// deleteUnsigned deletes the first case with a CaseDeleted entry that names the card's reviewer
// and "early", without the reviewer's signed envelope: what an admin who edits the store and
// blames a reviewer would leave.
func deleteUnsigned(srv *synctest.Server, cardFile string) error {
	fp, err := cardFingerprint(cardFile)
	if err != nil {
		return err
	}
	var id store.CaseID
	srv.Store.Cases(func(c *store.Case) error { id = c.ID; return io.EOF })
	e, err := (&logentry.Entry{Type: logentry.CaseDeleted, Day: day.FromTime(time.Now()), Case: id, Actor: fp,
		Value: logentry.ValueEarly}).Marshal()
	if err != nil {
		return err
	}
	if _, err = srv.Store.DeleteCase(id, [][]byte{e}); err != nil {
		return fmt.Errorf("deleting: %w", err)
	}
	return nil
}
