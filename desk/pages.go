package desk

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"candor/frontend"
	"candor/inbox"
	"candor/internal/day"
	"candor/internal/envelope"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Desk pages, each templates/NAME.html, parsed on the frontend's layout with templates/header.html.
const (
	pageUnlock  = "unlock"  // data: unlockData
	pageCases   = "cases"   // data: casesData
	pageCase    = "case"    // data: caseData
	pageImport  = "import"  // data: importData
	pageOutbox  = "outbox"  // data: outboxData
	pageProblem = "problem" // data: problemData
	pageDelete  = "delete"  // data: deleteData
	pageStats   = "stats"   // data: statsData
	pageIntake  = "intake"  // data: intakeData
)

func pageNames() []string {
	return []string{pageUnlock, pageCases, pageCase, pageImport, pageOutbox, pageProblem, pageDelete, pageStats, pageIntake}
}

func parsePages(f *frontend.Frontend) (map[string]map[string]*template.Template, error) {
	return f.ParsePages(templateFiles, []string{"templates/header.html"}, pageNames())
}

// page is what every desk page needs; each page's data embeds it.
type page struct {
	frontend.Page
	Base        string // "/s/SECRET": the prefix of every link; empty when !Authed
	Authed      bool   // the request carried the secret
	Unlocked    bool   // show the navigation and the lock bar
	Nav         string // the current navigation item
	Notice      string // localised confirmation
	Done        string // what Notice confirms (?done=), for the notice's id
	IdleMinutes int
}

func (p *page) desk() *page { return p }

type pageData interface{ desk() *page }

// refusal is what the inbox (or the desk's guard) refused, in plain words: a fixed heading and
// message from the catalog, a hint, and for the integrity refusals the inbox's own error text
// (sizes, roots, fingerprints; never a secret or content) to compare with other reviewers.
type refusal struct {
	Heading, Message, Hint, Details string
	Key                             string // a fingerprint to compare, shown large (the first import's server key)
}

type unlockData struct {
	page
	Error string
}

type statusOption struct{ Value, Label string }

type caseRow struct {
	inbox.CaseInfo
	Short  string
	Due    day.Day // the next deadline: acknowledgement while received, else feedback
	HasDue bool
}

type casesData struct {
	page
	Cases    []caseRow
	Total    int
	Query    string
	Status   string
	Overdue  bool
	Assignee string // "", "me" or "none"
	Statuses []statusOption
}

type eventRow struct {
	Index       int64
	Day         day.Day
	Type, Value string
	Actor       string // "Name (fingerprint)"
}

type caseData struct {
	page
	Short                         string
	Case                          *inbox.CaseView
	Received, AckDue, FeedbackDue day.Day
	Events                        []eventRow
	Statuses                      []statusOption
	MyHold                        bool
	Leads                         []statusOption // the case's reviewers: fingerprint, "Name (fingerprint)"
	MaxReply                      int64
	Refusal                       *refusal
}

type importData struct {
	page
	Result  *inbox.ImportResult
	Refusal *refusal
	// Trusted is the fingerprint of the server key the inbox trusts; empty before the first
	// import, when the form asks for the fingerprint the admin gave (TypedKey: what was typed).
	Trusted, TypedKey string
}

type outboxFile struct {
	Name string
	Size int64
}

type outboxData struct {
	page
	Pending int
	Files   []outboxFile
	Refusal *refusal
}

type deleteData struct {
	page
	Case, Short string
}

type intakeData struct {
	page
	MaxReply             int64
	Case, Short, Receipt string // after a recorded intake; Receipt shown this once
	Refusal              *refusal
}

type statsData struct {
	page
	Stats           *inbox.Stats
	From, To, Query string
}

type problemData struct {
	page
	Refusal *refusal
}

// newPage builds the common page data for r, whose path (secret stripped) is path.
func (d *Desk) newPage(w http.ResponseWriter, r *http.Request, nav string, authed bool) page {
	lang := d.lang(w, r)
	p := page{Page: d.f.Page(lang, d.base()+r.URL.Path), Authed: authed, Nav: nav,
		IdleMinutes: int(d.cfg.IdleLock.Minutes())}
	p.Title = d.f.T(p.Lang, "desk.name")
	if authed {
		p.Base = d.base()
	} else {
		p.Languages, p.Path = nil, ""
	}
	if key, ok := noticeKey(r.URL.Query().Get("done")); ok && authed {
		p.Notice, p.Done = d.f.T(p.Lang, key), r.URL.Query().Get("done")
	}
	return p
}

// noticeKey returns the catalog key of the confirmation a redirect after a successful POST asks
// for with ?done=.
func noticeKey(done string) (string, bool) {
	switch done {
	case "replied", "status", "hold", "outbox", "unlocked", "locked", "note", "assign", "share", "delete":
		return "desk.done." + done, true
	}
	return "", false
}

// lang picks the page language: ?lang= (remembered in a cookie), the cookie, Accept-Language.
func (d *Desk) lang(w http.ResponseWriter, r *http.Request) string {
	q := r.URL.Query().Get("lang")
	if tag, ok := d.f.Match(q); ok {
		http.SetCookie(w, &http.Cookie{Name: "desk_lang", Value: tag, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode})
	}
	var cookie string
	if c, err := r.Cookie("desk_lang"); err == nil {
		cookie = c.Value
	}
	return d.f.Negotiate(q, cookie, r.Header.Get("Accept-Language"))
}

// render writes page name with data and status, or a plain 500 if rendering fails (the buffer
// keeps a half page from going out).
func (d *Desk) render(w http.ResponseWriter, status int, name string, data pageData) {
	p := data.desk()
	var buf bytes.Buffer
	err := d.pages[p.Lang][name].ExecuteTemplate(&buf, "layout", data)
	if err != nil {
		d.cfg.Log.Printf("candor-desk: rendering %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// statusOptions are the statuses a reviewer may set, in words.
func (d *Desk) statusOptions(lang string, withGone bool) []statusOption {
	var out []statusOption
	for _, s := range envelope.Statuses() {
		out = append(out, statusOption{s, d.statusWord(lang, s)})
	}
	if withGone {
		out = append(out, statusOption{"deleted", d.statusWord(lang, "deleted")},
			statusOption{"missing", d.statusWord(lang, "missing")})
	}
	return out
}

func (d *Desk) statusWord(lang, s string) string {
	switch s {
	case "deleted", "missing":
		return d.f.T(lang, "desk.status."+s)
	}
	for _, known := range frontend.Statuses() {
		if s == known {
			return d.f.T(lang, "status."+s)
		}
	}
	return d.f.T(lang, "status.unknown")
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func parseDay(s string) (day.Day, bool) {
	v, err := day.Parse(strings.TrimSpace(s))
	return v, err == nil
}
