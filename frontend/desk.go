package frontend

import (
	"fmt"
	"html/template"
	"io/fs"
	"slices"
	"strings"
)

// DeskKeyPrefix starts the catalog keys of the reviewer's desk (package desk), which shares this
// package's layout, stylesheet and catalogs. This package's catalog test leaves those keys to the
// desk's own test, which checks that its templates and code use every one.
const DeskKeyPrefix = "desk."

// ParsePages parses the pages of another program that shares the reporter pages' look (the
// reviewer's desk). For every language it parses this package's layout (templates/layout.html: the
// "layout" frame with its "title", "header" and "content" blocks, and the "languages",
// "errorsummary" and "sitename" templates) with that language's template functions (see funcs),
// then the files named by common from fsys (e.g. a "header" replacing the reporter's navigation),
// then each of pages ("templates/NAME.html" in fsys) on a clone of its own. It returns tag →
// page name → template; render a page with ExecuteTemplate(w, "layout", data), where data embeds
// a [Page]. It fails if a template uses a catalog key that some language lacks.
func (f *Frontend) ParsePages(fsys fs.FS, common, pages []string) (map[string]map[string]*template.Template, error) {
	out := map[string]map[string]*template.Template{}
	for _, l := range f.langs {
		set, err := parseSet(f.funcs(f.cats[l.Tag]), fsys, common, pages)
		if err != nil {
			return nil, err
		}
		out[l.Tag] = set
	}
	cats := make([]*catalog, 0, len(f.langs))
	for _, l := range f.langs {
		cats = append(cats, f.cats[l.Tag])
	}
	if err := checkTemplateKeys(out[DefaultLanguage], cats); err != nil {
		return nil, err
	}
	return out, nil
}

// parseSet parses the layout, then common from fsys, once, and every page on a clone of it.
func parseSet(funcs template.FuncMap, fsys fs.FS, common, pages []string) (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("frontend: parsing layout: %w", err)
	}
	for _, name := range common {
		if base, err = base.ParseFS(fsys, name); err != nil {
			return nil, fmt.Errorf("frontend: parsing %s: %w", name, err)
		}
	}
	set := map[string]*template.Template{}
	for _, name := range pages {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("frontend: cloning layout: %w", err)
		}
		if t, err = t.ParseFS(fsys, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("frontend: parsing page %s: %w", name, err)
		}
		set[name] = t
	}
	return set, nil
}

// UsedKeys returns the catalog keys that the templates of set (one language's pages from
// [Frontend.ParsePages]) use, each plural key expanded to the forms of every language.
func (f *Frontend) UsedKeys(set map[string]*template.Template) map[string]bool {
	used := map[string]bool{}
	for use := range templateKeys(set) {
		for _, c := range f.cats {
			for _, k := range expandKey(use, c) {
				used[k] = true
			}
		}
	}
	return used
}

// CatalogKeys returns the keys of lang's catalog that start with prefix, sorted (none for an
// unknown lang).
func (f *Frontend) CatalogKeys(lang, prefix string) []string {
	c, ok := f.cats[lang]
	if !ok {
		return nil
	}
	var keys []string
	for k := range c.msgs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// PluralKeys returns key expanded to the plural forms of lang (KEY.one, KEY.other), as the
// template function tn looks it up.
func (f *Frontend) PluralKeys(lang, key string) []string {
	c, ok := f.cats[lang]
	if !ok {
		return nil
	}
	return expandKey(keyUse{key, true}, c)
}
