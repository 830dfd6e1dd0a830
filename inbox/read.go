package inbox

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/crypto"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/filename"
	"candor/internal/frame"
	"candor/internal/progress"
)

// CaseInfo is one line of List; the JSON names are part of the CLI contract (DESIGN §11).
type CaseInfo struct {
	Case        string   `json:"case"`
	Status      string   `json:"status"` // the case's status, or "deleted" / "missing"
	Received    string   `json:"received"`
	AckDue      string   `json:"ack_due"`
	FeedbackDue string   `json:"feedback_due"`
	Messages    int      `json:"messages"`
	Overdue     bool     `json:"overdue"`
	Category    string   `json:"category"`
	Holds       []string `json:"holds"`
	Deleted     bool     `json:"deleted"`
	Missing     bool     `json:"missing"`
	Lost        int      `json:"lost_events"` // entries of the case a restore of the server dropped
	Events      []Event  `json:"events"`      // status changes, holds, deletions… made by anyone
	// Team work (DESIGN §12): the lead's fingerprint, the outcome of the closing, the day the
	// Directive's feedback was given ("" if not).
	Assignee      string `json:"assignee"`
	Outcome       string `json:"outcome"`
	FeedbackGiven string `json:"feedback_given"`
	Intake        bool   `json:"intake"`
}

// List returns every case the inbox holds: overdue cases first, then by the earliest due date.
func (in *Inbox) List() ([]CaseInfo, error) {
	today := in.cfg.today()
	var out []CaseInfo
	err := in.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			var c caseRecord
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("inbox: corrupt record: %w", err)
			}
			out = append(out, info(&c, today))
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b CaseInfo) int {
		if a.Overdue != b.Overdue {
			if a.Overdue {
				return -1
			}
			return 1
		}
		return strings.Compare(nextDue(a), nextDue(b))
	})
	return out, err
}

func nextDue(c CaseInfo) string {
	if c.Status == envelope.StatusReceived {
		return c.AckDue
	}
	return c.FeedbackDue
}

func info(c *caseRecord, today day.Day) CaseInfo {
	ci := CaseInfo{Case: c.ID, Status: c.Status, Received: c.Received.String(), AckDue: c.AckDue.String(),
		FeedbackDue: c.FeedbackDue.String(), Messages: len(c.Blobs), Category: c.Category, Holds: c.Holds,
		Deleted: c.Deleted, Missing: c.Missing, Events: c.Events}
	for _, e := range c.Events {
		if e.Lost {
			ci.Lost++
		}
	}
	ci.Overdue = overdue(c, today)
	ci.Assignee, ci.Outcome, ci.Intake = c.Team.Assignee, c.Team.Outcome, c.Team.Intake
	if c.Team.FeedbackGiven != 0 {
		ci.FeedbackGiven = c.Team.FeedbackGiven.String()
	}
	switch {
	case c.Missing:
		ci.Status = "missing"
	case c.Deleted:
		ci.Status = "deleted"
	}
	if ci.Holds == nil {
		ci.Holds = []string{}
	}
	if ci.Events == nil {
		ci.Events = []Event{}
	}
	return ci
}

// Read writes the case's metadata, history and every decrypted message and reply to w as text.
// Control characters in decrypted text are replaced, so a message cannot drive the terminal.
func (in *Inbox) Read(prefix string, w io.Writer) error {
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return err
	}
	id, err := in.Identity()
	if err != nil {
		return err
	}
	names := in.names()
	fmt.Fprintf(w, "case %s  (%s)\n", c.ID, info(c, in.cfg.today()).Status)
	fmt.Fprintf(w, "category: %s\nreceived: %s   acknowledgement due: %s   feedback due: %s\n",
		clean(c.Category), c.Received, c.AckDue, c.FeedbackDue)
	for _, r := range c.Reviewers {
		fmt.Fprintf(w, "reviewer: %s\n", names.of(r))
	}
	writeTeam(w, c, names, id)
	for i, bid := range c.Blobs {
		if err := in.readBlob(w, i+1, bid, id, names); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nhistory (verified case-log entries):\n")
	for _, e := range c.Events {
		lost := ""
		if e.Lost {
			lost = "  LOST: a restore of the server dropped this entry"
		}
		fmt.Fprintf(w, "  #%d %s %s by %s %s%s\n", e.Index, e.Day, e.Type, names.of(e.Actor), e.Value, lost)
	}
	return nil
}

func (in *Inbox) readBlob(w io.Writer, n int, bid string, id age.Identity, names names) error {
	b, err := in.blob(bid)
	if err != nil {
		return err
	}
	signed, kind := "", b.Kind
	if b.Signed {
		signed = ", signature verified"
	}
	switch {
	case b.Kind == "note":
		kind = "internal note (reviewers only)"
	case b.Feedback:
		kind = "reply (feedback)"
	}
	fmt.Fprintf(w, "\n--- %d. %s from %s, %s%s ---\n", n, kind, names.of(b.Author), b.Day, signed)
	return in.walk(bid, id, func(p *frame.Part, r io.Reader) error {
		switch p.Kind {
		case frame.KindMessage, frame.KindAnswers:
			var sb strings.Builder
			if _, err := io.Copy(&sb, r); err != nil {
				return err
			}
			if p.Kind == frame.KindAnswers {
				fmt.Fprintln(w, "[answers]")
			}
			fmt.Fprintln(w, clean(sb.String()))
		case frame.KindFile:
			size, err := io.Copy(io.Discard, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "[file] %s (%d bytes, %s)\n", filename.Sanitize(p.Name, "file"), size, clean(p.ContentType))
		}
		return nil
	})
}

// walk decrypts blob bid and calls fn for each part with a reader of its body.
func (in *Inbox) walk(bid string, id age.Identity, fn func(*frame.Part, io.Reader) error) error {
	f, err := in.openBlob(bid)
	if err != nil {
		return err
	}
	defer f.Close()
	pt, err := age.Decrypt(bufio.NewReaderSize(in.progress(f, "decrypting"), 1<<20), id)
	if err != nil {
		return fmt.Errorf("inbox: decrypting a blob: %w", err)
	}
	fr := frame.NewReader(pt)
	for {
		p, err := fr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(p, fr); err != nil {
			return err
		}
	}
}

// clean replaces control characters other than newline and tab.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}

// names maps fingerprints to "Name (fingerprint)" from the cards the inbox has.
type names map[string]string

func (n names) of(fp string) string {
	if v, ok := n[fp]; ok {
		return v
	}
	return fp
}

func (in *Inbox) names() names {
	n := names{}
	in.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCards).ForEach(func(k, v []byte) error {
			if c, err := crypto.ParseCard(v); err == nil {
				n[string(k)] = clean(c.Name()) + " (" + string(k) + ")"
			}
			return nil
		})
	})
	return n
}

// ExportOptions configures Export.
type ExportOptions struct {
	Raw   bool // write the case's blobs as standard .age files instead of decrypting
	Force bool // overwrite existing files
}

// Export writes the case's decrypted parts (messages as N-KIND-message.txt, answers as
// N-KIND-answers.txt, files under their names as filename.Sanitize makes them safe) or, with Raw, its blobs as ID.age into
// dir, which is created if missing. Every file is written to a temporary file in dir first and
// renamed into place only when all are complete, so a failure leaves no output file. An existing
// file is not overwritten without Force (ErrFileExists). It returns the names written.
func (in *Inbox) Export(prefix, dir string, opt ExportOptions) ([]string, error) {
	c, err := in.caseByPrefix(prefix)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	x := &exporter{dir: dir, used: map[string]bool{}}
	defer x.cleanup()
	if opt.Raw {
		err = in.exportRaw(c, x)
	} else {
		err = in.exportPlain(c, x)
	}
	if err != nil {
		return nil, err
	}
	names, err := x.finish(opt.Force)
	if err != nil {
		return nil, err
	}
	return names, in.recordExports(c.ID, dir, names)
}

func (in *Inbox) exportRaw(c *caseRecord, x *exporter) error {
	for _, bid := range c.Blobs {
		f, err := in.openBlob(bid)
		if err != nil {
			return err
		}
		err = x.add(bid+".age", f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (in *Inbox) exportPlain(c *caseRecord, x *exporter) error {
	id, err := in.Identity()
	if err != nil {
		return err
	}
	for i, bid := range c.Blobs {
		b, err := in.blob(bid)
		if err != nil {
			return err
		}
		err = in.walk(bid, id, func(p *frame.Part, r io.Reader) error {
			name := filename.Sanitize(p.Name, "file")
			switch p.Kind {
			case frame.KindMessage:
				name = fmt.Sprintf("%d-%s-message.txt", i+1, b.Kind)
			case frame.KindAnswers:
				name = fmt.Sprintf("%d-%s-answers.txt", i+1, b.Kind)
			}
			return x.add(name, r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// exporter stages files in temporary files and renames them into place at the end.
type exporter struct {
	dir   string
	used  map[string]bool
	names []string
	temps []string
}

func (x *exporter) add(name string, r io.Reader) error {
	name = x.unique(name)
	f, err := os.CreateTemp(x.dir, ".candor-export-*")
	if err != nil {
		return err
	}
	x.temps = append(x.temps, f.Name())
	x.names = append(x.names, name)
	_, err = io.CopyBuffer(f, r, make([]byte, 1<<20))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (x *exporter) unique(name string) string {
	base, ext := name, filepath.Ext(name)
	base = strings.TrimSuffix(base, ext)
	for i := 2; x.used[name]; i++ {
		name = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
	x.used[name] = true
	return name
}

func (x *exporter) finish(force bool) ([]string, error) {
	if !force {
		for _, n := range x.names {
			if _, err := os.Lstat(filepath.Join(x.dir, n)); err == nil {
				return nil, fmt.Errorf("%w: %s", ErrFileExists, filepath.Join(x.dir, n))
			}
		}
	}
	for i, n := range x.names {
		if err := os.Rename(x.temps[i], filepath.Join(x.dir, n)); err != nil {
			return nil, err
		}
		x.temps[i] = ""
	}
	return x.names, nil
}

func (x *exporter) cleanup() {
	for _, t := range x.temps {
		if t != "" {
			os.Remove(t)
		}
	}
}

// progress wraps r so that long reads report progress to cfg.Progress (internal/progress).
func (in *Inbox) progress(r io.Reader, what string) io.Reader {
	return progress.NewReader(r, in.cfg.Progress, what)
}
