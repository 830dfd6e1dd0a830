package frontend

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"candor/internal/day"
)

// usedKeys returns every catalog key c must hold: the templates' keys and
// those of the Go code, plural keys expanded to c's forms.
func usedKeys(t *testing.T, f *Frontend, c *catalog) map[string]bool {
	t.Helper()
	used := map[string]bool{}
	for use := range templateKeys(f.pages[c.lang.Tag]) {
		for _, k := range expandKey(use, c) {
			used[k] = true
		}
	}
	for _, k := range goKeys() {
		used[k] = true
	}
	for _, k := range goPluralKeys() {
		for _, key := range expandKey(keyUse{k, true}, c) {
			used[key] = true
		}
	}
	return used
}

func TestCatalogsComplete(t *testing.T) {
	f := newTest(t)
	if len(f.cats) < 2 {
		t.Fatalf("got %d languages, want English and at least one more", len(f.cats))
	}
	for tag, c := range f.cats {
		t.Run(tag, func(t *testing.T) {
			used := usedKeys(t, f, c)
			for k := range used {
				if strings.TrimSpace(c.msgs[k]) == "" {
					t.Errorf("key %q used but missing or empty", k)
				}
			}
			for k := range c.msgs {
				if !used[k] && !strings.HasPrefix(k, DeskKeyPrefix) { // the desk's test checks its keys
					t.Errorf("key %q is never used", k)
				}
			}
		})
	}
}

// TestCatalogVerbs checks that every translation takes the same arguments as
// the English string, so that fmt never prints %!(EXTRA …) or %!s(MISSING).
func TestCatalogVerbs(t *testing.T) {
	f := newTest(t)
	en := f.cats[DefaultLanguage]
	for tag, c := range f.cats {
		for k, msg := range c.msgs {
			base := k
			if i := strings.LastIndex(k, "."); i > 0 && slices.Contains(c.forms, k[i+1:]) {
				base = k[:i] + ".other" // plural forms may differ in wording, not in arguments
			}
			want, ok := en.msgs[base]
			if !ok {
				want = en.msgs[k]
			}
			if got, w := verbs(msg), verbs(want); got != w && !(tag == "en" && base != k) {
				t.Errorf("%s %q: got arguments %s, want %s (as English)", tag, k, got, w)
			}
		}
	}
}

var verbRE = regexp.MustCompile(`%(\[(\d+)\])?[a-z%]`)

// verbs describes the arguments a format string consumes, e.g. "1:d 2:s".
func verbs(msg string) string {
	var args []string
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(msg, -1) {
		if m[0] == "%%" {
			continue
		}
		if m[2] != "" {
			next, _ = strconv.Atoi(m[2])
		}
		args = append(args, fmt.Sprintf("%d:%c", next, m[0][len(m[0])-1]))
		next++
	}
	slices.Sort(args)
	return strings.Join(slices.Compact(args), " ")
}

func TestVerbs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no args", ""},
		{"%d files, %s", "1:d 2:s"},
		{"%[2]s then %[1]d", "1:d 2:s"},
		{"100%% of %s", "1:s"},
	}
	for _, tt := range tests {
		if got := verbs(tt.in); got != tt.want {
			t.Errorf("verbs(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestT(t *testing.T) {
	f := newTest(t)
	tests := []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"en", "nav.report", nil, "Make a report"},
		{"de", "nav.report", nil, "Meldung abgeben"},
		{"xx", "nav.report", nil, "Make a report"},
		{"de", "case.session", []any{30}, "Zu Ihrem Schutz werden Sie nach 30 Minuten ohne Aktivität abgemeldet. Melden Sie sich ab, wenn Sie fertig sind."},
		{"de", "no.such.key", nil, "no.such.key"},
		{"en", ErrorWrongReceipt.MessageKey(), nil, "We could not find a report for that receipt code. Check the words and try again."},
	}
	for _, tt := range tests {
		if got := f.T(tt.lang, tt.key, tt.args...); got != tt.want {
			t.Errorf("T(%s, %s): got %q, want %q", tt.lang, tt.key, got, tt.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	f := newTest(t)
	en, de := f.cats["en"], f.cats["de"]
	d, _ := day.Parse("2027-03-01")
	tests := []struct{ got, want string }{
		{formatDate(en, en, d), "1 March 2027"},
		{formatDate(de, en, d), "1. März 2027"},
		{formatSize(en, en, 0), "0 bytes"},
		{formatSize(en, en, 1), "1 byte"},
		{formatSize(en, en, 1023), "1023 bytes"},
		{formatSize(en, en, 1024), "1\u00a0KiB"},
		{formatSize(en, en, 1025), "1.1\u00a0KiB"},
		{formatSize(de, en, 1536*1024), "1,5\u00a0MiB"},
		{formatSize(en, en, 2<<30), "2\u00a0GiB"},
		{formatSize(en, en, 1<<62), "4\u00a0EiB"},
		{formatSize(en, en, 1<<63-1), "8\u00a0EiB"},
		{formatInt(",", 1234), "1234"},
		{formatInt(",", 50000), "50,000"},
		{formatInt(".", -1234567), "-1.234.567"},
		{formatStatus(de, en, StatusClosed), "Abgeschlossen"},
		{formatStatus(en, en, "<b>"), "Unknown"},
		{neutraliseBidi("a\u202eb\u2066c\u200fd"), "a\ufffdb\ufffdc\u200fd"},
		{localPath("/followup/file/1"), "/followup/file/1"},
		{localPath("//evil.example/"), "/"},
		{localPath("/\\evil.example/"), "/"},
		{localPath("https://evil.example/"), "/"},
		{localPath(""), "/"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestError(t *testing.T) {
	f := newTest(t)
	p := f.Page("de", "/report")
	tests := []struct {
		key    ErrorKey
		status int
		limit  string
		back   string
	}{
		{ErrorTooLarge, 413, "2\u00a0GiB", "/report"},
		{ErrorTooManyFiles, 413, "20 Dateien", "/report"},
		{ErrorMessageTooLong, 413, "50.000 Zeichen", "/report"},
		{ErrorUploadsBusy, 503, "", "/report"},
		{ErrorWrongReceipt, 403, "", "/followup"},
		{ErrorNotFound, 404, "", "/"},
		{ErrorMethodNotAllowed, 405, "", "/"},
		{ErrorKey("bogus"), 500, "", "/"},
	}
	for _, tt := range tests {
		d := f.Error(p, tt.key, testLimits)
		if d.Status != tt.status || d.Limit != tt.limit || d.Back != tt.back || d.Heading == "" || d.Message == "" {
			t.Errorf("%s: got %+v, want status %d, limit %q, back %q", tt.key, d, tt.status, tt.limit, tt.back)
		}
	}
	for _, k := range ErrorKeys() {
		if d := f.Error(p, k, testLimits); d.Heading == f.T("de", ErrorInternal.TitleKey()) && k != ErrorInternal {
			t.Errorf("%s: shows the internal-error page", k)
		}
	}
}
