package inbox

import (
	"io"
	"slices"
	"strings"

	"filippo.io/age"

	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/frame"
)

// overdue reports whether an open case has missed a deadline on today: the acknowledgement (while
// the case is still received) or the feedback — but only until feedback was given. (A case used to
// stay overdue for feedback until it was closed, even after the feedback reply; DESIGN §12.)
func overdue(c *caseRecord, today day.Day) bool {
	if c.Status == envelope.StatusClosed || c.Deleted || c.Missing {
		return false
	}
	if c.Status == envelope.StatusReceived && today > c.AckDue {
		return true
	}
	return c.Team.FeedbackGiven == 0 && today > c.FeedbackDue
}

// ListOptions filters List; the zero value lists every case.
type ListOptions struct {
	Status   string // a case status, "deleted" or "missing"; "" = any
	Assignee string // a lead's fingerprint, "me", or "none" (no lead); "" = any
	Overdue  bool   // only overdue cases
	// Search keeps the cases whose decrypted text (messages, answers, notes, replies, file names)
	// holds this text, case-insensitively. It decrypts in memory: no plaintext and no index is
	// written anywhere.
	Search string
}

// ListFiltered is List restricted by opt. A search needs the passphrase (it decrypts).
func (in *Inbox) ListFiltered(opt ListOptions) ([]CaseInfo, error) {
	all, err := in.List()
	if err != nil {
		return nil, err
	}
	if opt.Assignee == "me" {
		opt.Assignee = in.fp
	}
	out := Filter(all, ListFilter{Status: opt.Status, Overdue: opt.Overdue}) // the desk's filter, one rule
	out = slices.DeleteFunc(out, func(c CaseInfo) bool { return !opt.keeps(c) })
	if opt.Search == "" || len(out) == 0 {
		return out, nil
	}
	id, err := in.Identity()
	if err != nil {
		return nil, err
	}
	needle := strings.ToLower(opt.Search)
	var found []CaseInfo
	for _, c := range out {
		ok, err := in.caseHolds(c.Case, needle, id)
		if err != nil {
			return nil, err
		}
		if ok {
			found = append(found, c)
		}
	}
	return found, nil
}

// keeps applies the lead filter (Filter applies status and overdue).
func (o ListOptions) keeps(c CaseInfo) bool {
	switch o.Assignee {
	case "":
		return true
	case "none":
		return c.Assignee == ""
	}
	return c.Assignee == o.Assignee
}

// caseHolds reports whether any decrypted text part or file name of the case holds needle
// (lowercase). File contents are not searched.
func (in *Inbox) caseHolds(caseID, needle string, id age.Identity) (bool, error) {
	c, err := in.caseByPrefix(caseID)
	if err != nil {
		return false, err
	}
	found := false
	for _, bid := range c.Blobs {
		err := in.walk(bid, id, func(p *frame.Part, r io.Reader) error {
			if strings.Contains(strings.ToLower(p.Name), needle) {
				found = true
			}
			if found || p.Kind == frame.KindFile {
				return nil
			}
			var sb strings.Builder
			if _, err := io.Copy(&sb, io.LimitReader(r, 16<<20)); err != nil {
				return err
			}
			found = strings.Contains(strings.ToLower(sb.String()), needle)
			return nil
		})
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}
