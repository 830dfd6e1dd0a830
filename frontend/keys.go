package frontend

// Catalog keys that handlers format themselves with Frontend.T (the catalog tests count them as
// used).
const (
	KeyNoticeSent   = "case.notice.sent" // CaseData.Notice after a follow-up message was stored
	KeyLoginMissing = "followup.missing" // FollowupData.Error: the log has the case, the store lost it; arg: entry index
	KeyLoginDeleted = "followup.deleted" // FollowupData.Error: the case was deleted; args: entry index, deletion index
)

// handlerKeys returns the keys above.
func handlerKeys() []string { return []string{KeyNoticeSent, KeyLoginMissing, KeyLoginDeleted} }
