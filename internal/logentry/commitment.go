package logentry

// SetsRecipients reports whether an entry of type t names a case's recipient set: its Subject is
// the set's commitment (leaf.RecipientSet.Commit). A CaseCreated entry starts the set; a
// CaseShared entry (the case shared with another reviewer) replaces it.
func (t Type) SetsRecipients() bool {
	return t == CaseCreated || t == CaseShared
}

// Commitment returns the recipient-set commitment in force after entries, the verified log
// entries of one case in log order: the Subject of its first CaseCreated entry, replaced by the
// Subject of each later entry whose type SetsRecipients (a share) that verified approves — a share
// counts only when the reviewer's signed share envelope backs it, so a share entry appended to the
// log by someone else changes nothing. A reader who joined the case through a share (and never
// received its CaseCreated entry) starts from the first approved share. ok is false if there is no
// starting entry. The server (before sealing a follow-up or logging an envelope of the case) and
// every inbox (before accepting a case record or sealing a reply) call it, so both hold the same
// rule.
func Commitment(entries []*Entry, verified func(*Entry) bool) (commitment [32]byte, ok bool) {
	created := false
	for _, e := range entries {
		switch {
		case e.Type == CaseCreated && !created && !ok:
			commitment, ok, created = e.Subject, true, true
		case e.Type != CaseCreated && e.Type.SetsRecipients() && verified != nil && verified(e):
			commitment, ok = e.Subject, true
		}
	}
	return commitment, ok
}
