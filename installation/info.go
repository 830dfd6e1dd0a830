package installation

import (
	"fmt"

	"candor/frontend"
	"slices"
	"strings"
	"unicode/utf8"
)

// Information pages the Directive requires (Art. 9(1)(g) and 13; DESIGN §12): the organisation
// writes, per language, the reporting procedure, a privacy notice and the external routes (for UK
// police staff: the IOPC and the other prescribed bodies). They are part of the settings, loaded
// like the categories (candor info load), and served at /info/KIND.

// InfoKinds returns the kinds of information page (frontend owns the words: it links them).
func InfoKinds() []string { return frontend.InfoKinds() }

// Limits of an information page.
const (
	maxInfoTitle = 200   // runes
	maxInfoBody  = 30000 // runes
)

// InfoPage is one information page in one language. Body is plain text: paragraphs are separated
// by a blank line, and the page shows it as text (web addresses are shown, not linked, so that
// the page loads nothing and sends nobody elsewhere).
type InfoPage struct {
	Kind  string `json:"kind"`
	Lang  string `json:"lang"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

func (p InfoPage) validate(langs []string) error {
	if !slices.Contains(InfoKinds(), p.Kind) {
		return fmt.Errorf("%w: kind must be one of %s", ErrSettings, strings.Join(InfoKinds(), ", "))
	}
	if !slices.Contains(langs, p.Lang) {
		return fmt.Errorf("%w: lang must be one of the service's languages: %s", ErrSettings, strings.Join(langs, ", "))
	}
	if err := checkText("title", p.Title, true); err != nil {
		return err
	}
	if utf8.RuneCountInString(p.Title) > maxInfoTitle {
		return fmt.Errorf("%w: title longer than %d characters", ErrSettings, maxInfoTitle)
	}
	if strings.TrimSpace(p.Body) == "" || !utf8.ValidString(p.Body) || utf8.RuneCountInString(p.Body) > maxInfoBody {
		return fmt.Errorf("%w: body must be 1..%d characters of UTF-8", ErrSettings, maxInfoBody)
	}
	for _, r := range p.Body {
		if r < 0x20 && r != '\n' && r != '\t' {
			return fmt.Errorf("%w: body holds a control character", ErrSettings)
		}
	}
	return nil
}

// validateInfo checks every page and that no kind appears twice in one language.
func validateInfo(pages []InfoPage, langs []string) error {
	seen := map[[2]string]bool{}
	for i, p := range pages {
		if err := p.validate(langs); err != nil {
			return fmt.Errorf("info page %d (%s, %s): %w", i+1, p.Kind, p.Lang, err)
		}
		k := [2]string{p.Kind, p.Lang}
		if seen[k] {
			return fmt.Errorf("%w: two %s pages in %s", ErrSettings, p.Kind, p.Lang)
		}
		seen[k] = true
	}
	return nil
}

// Info returns the information page of kind in lang, else in English, else in any language; ok
// is false if the organisation wrote none of that kind.
func (s Settings) Info(kind, lang string) (p InfoPage, ok bool) {
	for _, want := range []string{lang, "en", ""} {
		for _, p := range s.InfoPages {
			if p.Kind == kind && (want == "" || p.Lang == want) {
				return p, true
			}
		}
	}
	return InfoPage{}, false
}

// InfoKindsWritten returns the kinds of information page the settings hold, in InfoKinds order.
func (s Settings) InfoKindsWritten() []string {
	var out []string
	for _, k := range InfoKinds() {
		if _, ok := s.Info(k, ""); ok {
			out = append(out, k)
		}
	}
	return out
}
