package frontend

import "candor/internal/day"

// Language is one supported user-interface language.
type Language struct {
	Tag  string // BCP 47 tag, e.g. "de"
	Name string // the language's name in itself, e.g. "Deutsch"
	Dir  string // "ltr" or "rtl"
}

// Page is the data every page needs; each page's data type embeds it. Build it
// with [Frontend.Page].
type Page struct {
	Lang      string     // language tag, one of Frontend.Languages
	Dir       string     // "ltr" or "rtl", for <html dir>
	Languages []Language // offered in the language switch
	Path      string     // path of this page; language links point to Path?lang=TAG
	// Title, if set, names the service in the header and in every window
	// title (e.g. "ACME Integrity Line"); empty uses the catalog's generic name.
	Title string
}

func (p Page) page() Page { return p }

// Reviewer is one independent reviewer a report can be encrypted to.
type Reviewer struct {
	Name        string
	Fingerprint string // crypto.Fingerprint form: xxxx-xxxx-xxxx-xxxx-xxxx-xxxx
}

// LandingData fills the "landing" page.
type LandingData struct {
	Page
	ServiceName  string // heading of the page; empty uses the catalog's name
	Organisation string // whose staff report here; may be empty
	Reviewers    []Reviewer
}

// Field kinds of a questionnaire [Field]. An unknown kind renders as FieldText.
const (
	FieldText     = "text"     // one line
	FieldTextarea = "textarea" // several lines
	FieldSelect   = "select"   // one of Options
	FieldYesNo    = "yesno"    // "yes" or "no" (radio buttons)
)

// Field is one question of a category's questionnaire. The form names it
// "q."+ID; a yesno field submits "yes" or "no".
type Field struct {
	ID, Label, Help string
	Kind            string
	Options         []string
	Required        bool
}

// Category is a topic of reports with its own questions.
type Category struct {
	ID, Name, Description string
	Fields                []Field
}

// Limits are the submission limits, shown to the reporter before they upload.
type Limits struct {
	MaxTotalBytes   int64 // all parts of one submission together
	MaxFiles        int
	MaxMessageChars int
}

// ReportData fills the "report" page.
type ReportData struct {
	Page
	Categories []Category
	Selected   string // ID of the chosen category; empty or unknown = the first
	Reviewers  []Reviewer
	Limits     Limits
	Errors     []string // localised messages shown above the form
}

// Current returns the chosen category: the one with ID Selected, else the first,
// else nil.
func (d ReportData) Current() *Category {
	for i := range d.Categories {
		if d.Categories[i].ID == d.Selected {
			return &d.Categories[i]
		}
	}
	if len(d.Categories) > 0 {
		return &d.Categories[0]
	}
	return nil
}

// ReceiptData fills the "receipt" page. Code is the secret receipt code: the
// page is its only appearance, inside the element with id="receipt-code".
type ReceiptData struct {
	Page
	Code        string
	LogIndex    int64
	Checkpoint  string // signed checkpoint text, shown under "technical details"
	AckDue      day.Day
	FeedbackDue day.Day
}

// FollowupData fills the "followup" (login) page.
type FollowupData struct {
	Page
	Error string // localised message, e.g. T(lang, ErrorWrongReceipt.MessageKey())
}

// Case statuses, as the reviewers set them. Others render as "unknown".
const (
	StatusReceived     = "received"
	StatusAcknowledged = "acknowledged"
	StatusInReview     = "in-review"
	StatusClosed       = "closed"
)

// Statuses returns the case statuses the catalogs translate.
func Statuses() []string {
	return []string{StatusReceived, StatusAcknowledged, StatusInReview, StatusClosed}
}

// Sent is one submission the reporter made, described without its content.
type Sent struct {
	Day   day.Day
	Files int
	Size  int64 // padded ciphertext size in bytes
}

// ReplyFile is a file attached to a reviewer's reply.
type ReplyFile struct {
	Name string
	Size int64
	URL  string // same-site download path
}

// Reply is a decrypted reviewer reply.
type Reply struct {
	Day    day.Day
	Author string
	Text   string
	Files  []ReplyFile
}

// LogView is the result of checking the case's log entry against the current
// checkpoint.
type LogView struct {
	Index    int64 // entry of the case
	Size     int64 // size of the current checkpoint's tree
	Verified bool  // the inclusion proof verified
	Deleted  bool  // the log holds a deletion event for the case
	Note     string
}

// CaseData fills the "case" page a reporter sees after logging in.
type CaseData struct {
	Page
	Status                        string // one of Statuses
	Received, AckDue, FeedbackDue day.Day
	Overdue                       bool
	Sent                          []Sent
	Replies                       []Reply
	Log                           LogView
	Limits                        Limits
	Notice                        string // localised confirmation, e.g. "message sent"
}

// ErrorData fills the "error" page; build it with [Frontend.Error].
type ErrorData struct {
	Page
	Status           int    // HTTP status
	Heading, Message string // localised
	Limit            string // the exceeded limit, human-readable; may be empty
	Back             string // same-site path of the "go back" link
}

// LoggedOutData fills the "loggedout" page.
type LoggedOutData struct {
	Page
}
