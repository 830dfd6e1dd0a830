package frontend

import (
	"candor/internal/envelope"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// A catalog file is locales/TAG.json: one flat JSON object of key → string.
// Strings are fmt formats (%s, %d, %[2]s). Three keys describe the language
// itself: language.name, language.dir ("ltr"/"rtl") and language.plural
// (the plural rule; see pluralRules). A key used with the template func tn
// exists once per plural form of the language: KEY.one, KEY.other.

// pluralRule returns the plural form of n in a language.
type pluralRule func(n int) string

// pluralForms are the supported plural rules by name, with their forms.
var pluralForms = map[string][]string{
	// English, German, Dutch, the Scandinavian languages, …
	"one-other": {"one", "other"},
}

func oneOther(n int) string {
	if n == 1 {
		return "one"
	}
	return "other"
}

type catalog struct {
	lang   Language
	msgs   map[string]string
	plural pluralRule
	forms  []string
}

// loadCatalogs reads every locales/*.json; DefaultLanguage comes first, the
// others follow sorted by tag.
func loadCatalogs(fsys fs.FS) ([]*catalog, error) {
	names, err := fs.Glob(fsys, "locales/*.json")
	if err != nil {
		return nil, err
	}
	var cats []*catalog
	for _, name := range names {
		c, err := loadCatalog(fsys, name)
		if err != nil {
			return nil, err
		}
		cats = append(cats, c)
	}
	slices.SortFunc(cats, func(a, b *catalog) int {
		switch {
		case a.lang.Tag == DefaultLanguage:
			return -1
		case b.lang.Tag == DefaultLanguage:
			return 1
		}
		return strings.Compare(a.lang.Tag, b.lang.Tag)
	})
	if len(cats) == 0 || cats[0].lang.Tag != DefaultLanguage {
		return nil, errors.New("frontend: no catalog for the default language")
	}
	return cats, nil
}

func loadCatalog(fsys fs.FS, name string) (*catalog, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	c := &catalog{msgs: map[string]string{}}
	if err := json.Unmarshal(b, &c.msgs); err != nil {
		return nil, fmt.Errorf("frontend: catalog %s: %w", name, err)
	}
	c.lang = Language{
		Tag:  strings.TrimSuffix(path.Base(name), ".json"),
		Name: c.msgs["language.name"],
		Dir:  c.msgs["language.dir"],
	}
	if c.lang.Name == "" || (c.lang.Dir != "ltr" && c.lang.Dir != "rtl") {
		return nil, fmt.Errorf("frontend: catalog %s: language.name or language.dir missing", name)
	}
	forms, ok := pluralForms[c.msgs["language.plural"]]
	if !ok {
		return nil, fmt.Errorf("frontend: catalog %s: unknown language.plural %q", name, c.msgs["language.plural"])
	}
	c.plural, c.forms = oneOther, forms
	return c, nil
}

// format looks key up in c, then in fallback, and formats it with args. A key
// missing in both is returned as it is, so the gap is visible but harmless.
func (c *catalog) format(fallback *catalog, key string, args ...any) string {
	msg, ok := c.msgs[key]
	if !ok {
		if msg, ok = fallback.msgs[key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// goKeys are the catalog keys the Go code (not the templates) uses.
func goKeys() []string {
	keys := []string{"language.name", "language.dir", "language.plural",
		"date.format", "number.decimal", "number.group", "status.unknown"}
	for m := 1; m <= 12; m++ {
		keys = append(keys, fmt.Sprintf("month.%d", m))
	}
	for _, s := range Statuses() {
		keys = append(keys, "status."+s)
	}
	for _, o := range envelope.Outcomes() {
		keys = append(keys, "outcome."+o)
	}
	for _, k := range InfoKinds() {
		keys = append(keys, "info."+k)
	}
	for _, k := range ErrorKeys() {
		keys = append(keys, k.TitleKey(), k.MessageKey())
	}
	return append(keys, handlerKeys()...)
}

// goPluralKeys are the tn-style keys the Go code uses.
func goPluralKeys() []string {
	return []string{"size.bytes", "limit.files", "limit.chars", "followup.words"}
}
