package admin

import (
	"errors"
	"fmt"
	"slices"

	"candor/server/store"
)

// ErrWouldOrphan: removing the reviewer would leave cases that no registered reviewer can read
// (DESIGN §12: a case must never become unreadable when a reviewer leaves). RemoveReviewer
// refuses unless forced; the error says how many cases.
var ErrWouldOrphan = errors.New("removing this reviewer would leave cases with no reader")

// Orphaned returns how many open or closed cases (not deleted) would have no registered reviewer
// left to read them if the reviewer fp were removed: cases fp is on whose other reviewers are all
// removed already.
func (a *Admin) Orphaned(fp string) (int, error) {
	rs, err := a.st.Reviewers()
	if err != nil {
		return 0, err
	}
	registered := map[string]bool{}
	for _, r := range rs {
		registered[r.Fingerprint] = r.Fingerprint != fp
	}
	n := 0
	err = a.st.Cases(func(c *store.Case) error {
		if slices.Contains(c.Reviewers, fp) && !slices.ContainsFunc(c.Reviewers, func(r string) bool { return registered[r] }) {
			n++
		}
		return nil
	})
	return n, err
}

// checkOrphans refuses (ErrWouldOrphan) to remove fp while that would orphan cases, unless force.
// It returns the number of cases left without a reader.
func (a *Admin) checkOrphans(fp string, force bool) (int, error) {
	n, err := a.Orphaned(fp)
	if err != nil {
		return 0, err
	}
	if n > 0 && !force {
		return n, fmt.Errorf("%w: %d case(s) are readable by no other registered reviewer; "+
			"have a reviewer on them share them with a colleague first (candor-inbox share), or remove with --force "+
			"and accept that nobody can ever read them again", ErrWouldOrphan, n)
	}
	return n, nil
}
