package frontend

import (
	"io/fs"
	"slices"
	"strings"

	"candor/internal/day"
	"candor/internal/envelope"
)

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
	// Info lists the kinds of information page the organisation wrote ("procedure", "privacy",
	// "external"), linked from every page's footer as /info/KIND.
	Info []string
}

func (p Page) page() Page { return p }

// Reviewer is one independent reviewer a report can be encrypted to.
type Reviewer struct {
	Name        string
	Fingerprint string // crypto.Fingerprint form: xxxx-xxxx-xxxx-xxxx-xxxx-xxxx
	// Recipient is the reviewer's age recipient (age1pq1…), which the landing page publishes for
	// reporters who encrypt documents themselves with the stock age CLI.
	Recipient string
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
	// Token is the form's one-time token (the hidden field "form-token"), so that the server
	// never makes a second case of one submission.
	Token string
	Kept  Kept // after a refused submission: what the reporter typed, and what to fix
}

// Problem is one thing a reporter must fix before sending a form again: it is listed in the
// summary above the form and, if it concerns a field, said again next to that field.
type Problem struct {
	Field   string // "message", "reviewers", "files", or "" (the whole form)
	Heading string // localised, short: the summary's link to the field
	Summary string // localised, for the summary above the form, after the heading
	Fix     string // localised, next to the field (empty when Field is "")
}

// Kept is what a reporter typed into a form the server refused, shown again in the form with
// the problems to fix. It comes from the refused request alone and lives only in the memory of
// that response: nothing of it is stored or logged. A browser cannot fill in file inputs, so
// Files names the files to choose again.
type Kept struct {
	Message        string
	MessageCut     bool              // Message is the beginning of a longer message
	Answers        map[string]string // questionnaire answers by question ID
	Reviewers      []string          // fingerprints that were ticked
	ReviewerChoice bool              // the form offered the choice: tick exactly Reviewers
	Files          []string          // names of the files the browser sent
	MoreFiles      bool              // the browser sent more files than Files names
	Problems       []Problem
}

// Refused reports whether k holds problems, i.e. whether the page shows a refused form.
func (k Kept) Refused() bool { return len(k.Problems) > 0 }

// Problem returns the problem of field, or nil.
func (k Kept) Problem(field string) *Problem {
	for i := range k.Problems {
		if k.Problems[i].Field == field {
			return &k.Problems[i]
		}
	}
	return nil
}

// Ticked reports whether the reviewer with fingerprint fp is ticked: all are, unless the
// reporter made a choice.
func (k Kept) Ticked(fp string) bool {
	return !k.ReviewerChoice || slices.Contains(k.Reviewers, fp)
}

// FilesField is the data of the file inputs of a form.
type FilesField struct {
	Limits    Limits
	Again     []string // files to choose again
	MoreFiles bool
	Problem   *Problem
}

// Files returns the data of the form's file inputs.
func (d ReportData) Files() FilesField { return d.Kept.filesField(d.Limits) }

func (k Kept) filesField(l Limits) FilesField {
	return FilesField{Limits: l, Again: k.Files, MoreFiles: k.MoreFiles, Problem: k.Problem("files")}
}

// Question is one question of the chosen category with the answer that was kept.
type Question struct {
	Field
	Value string
}

// Questions returns the chosen category's questions with their kept answers.
func (d ReportData) Questions() []Question {
	cur := d.Current()
	if cur == nil {
		return nil
	}
	qs := make([]Question, len(cur.Fields))
	for i, f := range cur.Fields {
		qs[i] = Question{Field: f, Value: d.Kept.Answers[f.ID]}
	}
	return qs
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
	Code     string
	LogIndex int64
	// Checkpoint is the latest checkpoint note the witnesses cosigned (shown under "technical
	// details"; empty if none yet), Witnessed its tree size: the report is covered if LogIndex <
	// Witnessed.
	Checkpoint  string
	Witnessed   int64
	AckDue      day.Day
	FeedbackDue day.Day
}

// FollowupData fills the "followup" (login) page.
type FollowupData struct {
	Page
	Error string // localised message, e.g. T(lang, ErrorWrongReceipt.MessageKey())
	// Restored, if set, is the day the service was restored from a backup: reports made after
	// the backup was taken may be lost, which the page says next to a wrong-code message.
	Restored day.Day
	// Unsent is a follow-up message that arrived after the session expired: the page shows its
	// text (to copy before logging in again) and the names of its files.
	Unsent Kept
}

// Case statuses, as the reviewers set them (internal/envelope owns the words). Others render as
// "unknown".
const (
	StatusReceived     = envelope.StatusReceived
	StatusAcknowledged = envelope.StatusAcknowledged
	StatusInReview     = envelope.StatusInReview
	StatusClosed       = envelope.StatusClosed
)

// Statuses returns the case statuses the catalogs translate.
func Statuses() []string { return envelope.Statuses() }

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

// LogView is what the case page says of the case log: the case's entry, and whether the log
// records the case's deletion (or a logged message is gone). The page claims no check of its own:
// the reviewers and the witnesses check the log.
type LogView struct {
	Index   int64 // the case's CaseCreated entry; -1: none
	Deleted bool  // the log holds a deletion event for the case, or a logged message is gone
}

// CaseData fills the "case" page a reporter sees after logging in.
type CaseData struct {
	Page
	Status                        string // one of Statuses
	Received, AckDue, FeedbackDue day.Day
	Overdue                       bool
	Sent                          []Sent
	Replies                       []Reply
	Unreadable                    int // replies that could not be opened or verified (not shown)
	Log                           LogView
	Limits                        Limits
	Notice                        string // localised confirmation, e.g. "message sent"
	Kept                          Kept   // after a refused follow-up message: what was typed, what to fix
	// Team work (DESIGN §12): the day the reviewers gave the Directive's feedback (zero: not
	// yet), the outcome of a closed case (one of envelope.Outcomes), and, for an oral report a
	// reviewer recorded, the record itself, which the reporter may agree with or correct.
	FeedbackGiven day.Day
	Outcome       string
	Record        *Reply
}

// Files returns the data of the follow-up form's file inputs.
func (d CaseData) Files() FilesField { return d.Kept.filesField(d.Limits) }

// ErrorData fills the "error" page; build it with [Frontend.Error].
type ErrorData struct {
	Page
	Status           int    // HTTP status
	Heading, Message string // localised
	Limit            string // the exceeded limit, human-readable; may be empty
	Wait             int    // ErrorOverBudget: minutes until the circuit may try again; else 0
	Back             string // same-site path of the "go back" link
}

// LoggedOutData fills the "loggedout" page.
type LoggedOutData struct {
	Page
}

// LanguageTags returns the tags of the languages the catalogs hold (locales/*.json), sorted: the
// languages an organisation may write information pages in.
func LanguageTags() []string {
	entries, _ := fs.ReadDir(localeFiles, "locales")
	var out []string
	for _, e := range entries {
		if tag, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, tag)
		}
	}
	return out
}

// InfoData fills the "info" page.
type InfoData struct {
	Page
	Kind       string   // procedure, privacy or external
	Heading    string   // the organisation's title of the page
	Paragraphs []string // the body, split at blank lines
	WrittenIn  string   // the language the page is written in (may differ from Page.Lang)
}

// InfoKinds returns the kinds of information page an organisation can write (procedure, privacy
// notice, external routes), in the order pages link them; installation validates against it.
func InfoKinds() []string { return []string{"procedure", "privacy", "external"} }
