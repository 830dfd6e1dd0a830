// Package frontend holds the reporter's web pages: HTML templates, one stylesheet
// and the translation catalogs, all embedded in the binary, so no build step and no
// file outside the binary is needed to serve them.
//
// The pages are made for Tor Browser at its Safest level: they contain no
// JavaScript, no inline styles and nothing from another site, so they work under
// the Content-Security-Policy
//
//	default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';
//	frame-ancestors 'none'; base-uri 'none'
//
// with the stylesheet served from /static/candor.css (see [Frontend.Static]).
//
// A handler builds the page data (one of the *Data types of this package; each
// embeds a [Page] made with [Frontend.Page]), renders it into a buffer with
// [Frontend.Render], and writes the buffer only if Render succeeded:
//
//	lang := f.Negotiate(c.Query("lang"), c.Cookies("lang"), c.Get("Accept-Language"))
//	data := frontend.FollowupData{Page: f.Page(lang, "/followup")}
//	var buf bytes.Buffer
//	if err := f.Render(&buf, frontend.PageFollowup, data); err != nil { … }
//
// Every user-visible string comes from a catalog (locales/*.json). Handlers
// that need a localised string themselves use [Frontend.T]; error pages are
// built with [Frontend.Error] from an [ErrorKey].
package frontend

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

//go:embed locales/*.json
var localeFiles embed.FS

// Page names accepted by [Frontend.Render].
const (
	PageLanding   = "landing"   // data: LandingData
	PageReport    = "report"    // data: ReportData
	PageReceipt   = "receipt"   // data: ReceiptData
	PageFollowup  = "followup"  // data: FollowupData
	PageCase      = "case"      // data: CaseData
	PageError     = "error"     // data: ErrorData
	PageLoggedOut = "loggedout" // data: LoggedOutData
	PageInfo      = "info"      // data: InfoData
)

// Pages returns the names of all pages, in a fixed order.
func Pages() []string {
	return []string{PageLanding, PageReport, PageReceipt, PageFollowup, PageCase, PageError, PageLoggedOut, PageInfo}
}

// DefaultLanguage is the tag [Frontend.Negotiate] falls back to.
const DefaultLanguage = "en"

// Errors returned by [Frontend.Render]. They never contain page data.
var (
	// ErrUnknownPage means the page name is not one of [Pages].
	ErrUnknownPage = errors.New("frontend: unknown page")
	// ErrUnknownLanguage means Page.Lang is not one of [Frontend.Languages]
	// (build the Page with [Frontend.Page] to avoid it).
	ErrUnknownLanguage = errors.New("frontend: unknown language")
	// ErrNoPage means the data does not embed a [Page].
	ErrNoPage = errors.New("frontend: page data does not embed frontend.Page")
)

// Frontend holds the parsed templates and catalogs. It is immutable after
// [New] and safe for concurrent use.
type Frontend struct {
	langs []Language
	cats  map[string]*catalog                      // by tag
	pages map[string]map[string]*template.Template // tag → page → template set
}

// New parses every template once for every language and loads the catalogs.
// It fails if a template uses a catalog key that some language lacks.
func New() (*Frontend, error) {
	cats, err := loadCatalogs(localeFiles)
	if err != nil {
		return nil, err
	}
	f := &Frontend{cats: map[string]*catalog{}, pages: map[string]map[string]*template.Template{}}
	for _, c := range cats {
		f.langs = append(f.langs, c.lang)
		f.cats[c.lang.Tag] = c
	}
	for _, c := range cats {
		set, err := parsePages(f.funcs(c))
		if err != nil {
			return nil, err
		}
		f.pages[c.lang.Tag] = set
	}
	if err := checkTemplateKeys(f.pages[DefaultLanguage], cats); err != nil {
		return nil, err
	}
	return f, nil
}

// parsePages parses the layout once and every page on a clone of it, so that
// each page can fill or override the layout's blocks.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	return parseSet(funcs, templateFiles, nil, Pages())
}

// Render writes page, filled with data, to w. data must be the page's data type
// (or a pointer to it) with a Page made by [Frontend.Page]. On error, w may hold
// part of the page: render into a buffer and write it only on success.
func (f *Frontend) Render(w io.Writer, page string, data any) error {
	pd, ok := data.(interface{ page() Page })
	if !ok {
		return ErrNoPage
	}
	lang := pd.page().Lang
	set, ok := f.pages[lang]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownLanguage, lang)
	}
	t, ok := set[page]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownPage, page)
	}
	if err := t.ExecuteTemplate(w, "layout", data); err != nil {
		return fmt.Errorf("frontend: rendering %s: %w", page, err)
	}
	return nil
}

// Static returns the files served under /static/ (candor.css, logo.svg).
func (f *Frontend) Static() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic("frontend: embedded static directory missing: " + err.Error())
	}
	return sub
}

// Languages returns the supported languages, the default first. The caller may
// modify the returned slice.
func (f *Frontend) Languages() []Language {
	return append([]Language(nil), f.langs...)
}

// Page returns the common page data for lang (an unsupported lang becomes
// [DefaultLanguage]) and the request path the page answers, which the
// language links reuse.
func (f *Frontend) Page(lang, path string) Page {
	tag, ok := f.Match(lang)
	if !ok {
		tag = DefaultLanguage
	}
	return Page{Lang: tag, Dir: f.cats[tag].lang.Dir, Languages: f.Languages(), Path: path}
}

// T returns the catalog string key in lang, formatted with args as by
// fmt.Sprintf. A key missing in lang falls back to English, then to the key
// itself (the catalog tests make both impossible for keys the code uses).
func (f *Frontend) T(lang, key string, args ...any) string {
	c, ok := f.cats[lang]
	if !ok {
		c = f.cats[DefaultLanguage]
	}
	return c.format(f.cats[DefaultLanguage], key, args...)
}
