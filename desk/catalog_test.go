package desk

import (
	"regexp"
	"strings"
	"testing"

	"candor/frontend"
)

// goKeys are the catalog keys the desk's Go code formats itself.
func goKeys() []string {
	keys := []string{"desk.name", "desk.locked.nothing", "desk.unlock.wrong", "desk.unlock.failed",
		"desk.status.deleted", "desk.status.missing"}
	for _, done := range []string{"replied", "status", "hold", "outbox", "unlocked", "locked", "note", "assign", "share", "delete"} {
		k, ok := noticeKey(done)
		if !ok {
			panic("noticeKey: " + done)
		}
		keys = append(keys, k)
	}
	for _, k := range refusalKeys() {
		keys = append(keys, k+".title", k+".message")
	}
	return keys
}

// TestCatalogKeys: every desk key the templates or the code use exists in every language, and
// every desk key of the catalogs is used.
func TestCatalogKeys(t *testing.T) {
	f, err := frontend.New()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := parsePages(f)
	if err != nil {
		t.Fatal(err)
	}
	used := f.UsedKeys(pages[frontend.DefaultLanguage])
	for _, k := range goKeys() {
		used[k] = true
	}
	for _, l := range f.Languages() {
		have := map[string]bool{}
		for _, k := range f.CatalogKeys(l.Tag, frontend.DeskKeyPrefix) {
			have[k] = true
			if !used[k] {
				t.Errorf("%s: key %q is never used", l.Tag, k)
			}
		}
		for k := range used {
			if strings.HasPrefix(k, frontend.DeskKeyPrefix) && !have[k] && !isOtherPlural(f, l.Tag, k) {
				t.Errorf("%s: key %q used but missing", l.Tag, k)
			}
		}
	}
}

// isOtherPlural reports whether k is a plural form lang does not have.
func isOtherPlural(f *frontend.Frontend, lang, k string) bool {
	i := strings.LastIndex(k, ".")
	return i > 0 && !strings.Contains(strings.Join(f.PluralKeys(lang, k[:i]), " "), k)
}

// TestPages renders every page of a real desk in every language and checks what every page must
// satisfy: lang and dir set, one h1, no script, no inline style, nothing from another site.
func TestPages(t *testing.T) {
	w := newWorld(t)
	w.report("Quality tests are skipped to meet the shipping date.")
	r := startDesk(t, w.home, true)
	r.importBundle(t, w)
	id := r.onlyCase(t)
	for _, lang := range []string{"en", "de"} {
		for _, path := range []string{"cases", "case/" + id, "case/" + id + "/delete", "stats", "stats?from=2020-01-01", "intake", "import", "outbox", "nothing", "cases?q=zzz"} {
			_, body, h := do(t, "GET", r.url+path+sep(path)+"lang="+lang, "")
			checkHeaders(t, h)
			checkPage(t, lang+" "+path, body, lang)
		}
		r.d.Lock()
		_, body, _ := do(t, "GET", r.url+"unlock?lang="+lang, "")
		checkPage(t, lang+" unlock", body, lang)
		r.d.Unlock([]byte(pass))
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func checkPage(t *testing.T, what, out, lang string) {
	t.Helper()
	if !strings.Contains(out, `<html lang="`+lang+`" dir="ltr">`) {
		t.Errorf("%s: lang/dir missing", what)
	}
	for _, bad := range []string{"style=", "<style", "<script", "javascript:", "ZgotmplZ", "%!", "desk."} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(bad)) {
			t.Errorf("%s: page contains %q", what, bad)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"?\s*(https?:)?//`).FindString(out); m != "" {
		t.Errorf("%s: page refers to another site: %q", what, m)
	}
	if n := strings.Count(out, "<h1"); n != 1 {
		t.Errorf("%s: got %d h1 elements, want 1", what, n)
	}
}
