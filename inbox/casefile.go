package inbox

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"strings"

	bolt "go.etcd.io/bbolt"

	"candor/internal/filename"
	"candor/internal/frame"
)

//go:embed templates/casefile.html
var templates embed.FS

// casefileTmpl is parsed once per call (the inbox is a short-lived command); html/template
// escapes every value, so decrypted text cannot inject markup.
func casefileTmpl() (*template.Template, error) {
	return template.ParseFS(templates, "templates/casefile.html")
}

type cfPart struct {
	File, Answers bool
	Name, Text    string
	Size          int64
	note          bool
}

type cfMessage struct {
	N                 int
	Kind, Author, Day string
	Signed            bool
	Parts             []cfPart
}

type casefileData struct {
	Case, Category, Status, Outcome, Lead        string
	Received, AckDue, FeedbackDue, FeedbackGiven string
	Closed, Generated, Origin, ServerKey, Root   string
	Size                                         int64
	Intake                                       bool
	Reviewers                                    []string
	Timeline                                     []Event
	Messages                                     []cfMessage
	Signed                                       []signedChange
}

// IsNote reports whether a part belongs to an internal note (the template marks notes).
func (casefileData) IsNote(p cfPart) bool { return p.note }

// Casefile writes one self-contained HTML file for a referral: the case's metadata, its timeline
// of verified log events, every message, answer, reply and internal note decrypted, the signed
// changes, and what the inbox verified of the log. It loads nothing from elsewhere (no scripts,
// no external resources: a Content-Security-Policy forbids them). Attached files are listed, not
// embedded. Nothing is written to w unless the whole case decrypts.
func (in *Inbox) Casefile(prefix string, w io.Writer) error {
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return err
	}
	d, err := in.casefileData(c)
	if err != nil {
		return err
	}
	t, err := casefileTmpl()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func (in *Inbox) casefileData(c *caseRecord) (*casefileData, error) {
	names := in.names()
	d := &casefileData{Case: c.ID, Category: c.Category, Status: info(c, in.cfg.today()).Status,
		Outcome: c.Team.Outcome, Received: c.Received.String(), AckDue: c.AckDue.String(),
		FeedbackDue: c.FeedbackDue.String(), Generated: in.cfg.today().String(), Intake: c.Team.Intake}
	if c.Team.Assignee != "" {
		d.Lead = names.of(c.Team.Assignee)
	}
	if c.Team.FeedbackGiven != 0 {
		d.FeedbackGiven = c.Team.FeedbackGiven.String()
	}
	if c.Closed != 0 {
		d.Closed = c.Closed.String()
	}
	for _, r := range c.Reviewers {
		d.Reviewers = append(d.Reviewers, names.of(r))
	}
	for _, e := range c.Events {
		e.Actor, e.Value = names.of(e.Actor), names.of(e.Value)
		d.Timeline = append(d.Timeline, e)
	}
	for _, s := range c.Team.Signed {
		s.Author, s.Value = names.of(s.Author), names.of(s.Value)
		d.Signed = append(d.Signed, s)
	}
	in.logProof(d)
	return d, in.casefileMessages(c, d, names)
}

// logProof fills in the pinned server key and the latest verified checkpoint.
func (in *Inbox) logProof(d *casefileData) {
	in.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		key := sha256.Sum256(meta.Get(metaServerKey))
		d.ServerKey, d.Origin = hex.EncodeToString(key[:]), string(meta.Get(metaOrigin))
		if k, v := tx.Bucket(bucketCheckpoints).Cursor().Last(); len(k) == 8 {
			d.Size, d.Root = int64(beU64(k)), root([32]byte(v))
		}
		return nil
	})
}

func (in *Inbox) casefileMessages(c *caseRecord, d *casefileData, names names) error {
	if len(c.Blobs) == 0 {
		return nil
	}
	id, err := in.Identity()
	if err != nil {
		return err
	}
	for i, bid := range c.Blobs {
		b, err := in.blob(bid)
		if err != nil {
			return err
		}
		m := cfMessage{N: i + 1, Kind: b.Kind, Author: names.of(b.Author), Day: b.Day.String(), Signed: b.Signed}
		switch {
		case b.Kind == "note":
			m.Kind = "internal note (reviewers only)"
		case b.Feedback:
			m.Kind = "reply (feedback)"
		}
		err = in.walk(bid, id, func(p *frame.Part, r io.Reader) error {
			part := cfPart{File: p.Kind == frame.KindFile, Answers: p.Kind == frame.KindAnswers, note: b.Kind == "note"}
			if part.File {
				part.Name = filename.Sanitize(p.Name, "file")
				part.Size, err = io.Copy(io.Discard, r)
			} else {
				var sb strings.Builder
				_, err = io.Copy(&sb, r)
				part.Text = clean(sb.String())
			}
			m.Parts = append(m.Parts, part)
			return err
		})
		if err != nil {
			return err
		}
		d.Messages = append(d.Messages, m)
	}
	return nil
}
