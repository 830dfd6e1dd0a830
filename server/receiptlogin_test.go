package server

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"candor/internal/day"
	"candor/internal/logentry"
)

// TestLoginNamesUnknownWords: a code with words that are not in the word list gets a message
// naming exactly those words; a code of list words with the wrong count says how many it has; a
// well-formed wrong code gets the plain message. Separators the page promises are accepted.
func TestLoginNamesUnknownWords(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "x"))
	w := strings.Fields(code)
	typo := append([]string(nil), w...)
	typo[2] += "q"
	tests := []struct {
		name, typed string
		status      int
		want        string
	}{
		{"one typo", strings.Join(typo, " "), 403, "This word is not one of the words receipt codes are made of: “" + typo[2] + "”."},
		{"two typos", "Abacuss " + strings.Join(typo[1:], " "), 403, "These words are not among the words receipt codes are made of: “Abacuss”, “" + typo[2] + "”."},
		{"seven words", strings.Join(w[:7], " "), 403, "You typed 7 words, but a receipt code has 8."},
		{"wrong code", wrongCode(t, code), 403, e.srv.fe.T("en", "error.wrong_receipt.message")},
		{"separators", strings.ToUpper(strings.Join(w[:3], ", ")) + ".\n" + strings.Join(w[3:6], "-") + " \u2013 " + strings.Join(w[6:], "."), 303, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := e.post(e.client(), "/followup", "application/x-www-form-urlencoded",
				strings.NewReader("receipt="+url.QueryEscape(tt.typed)))
			if resp.StatusCode != tt.status {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.want != "" && !strings.Contains(page, html.EscapeString(tt.want)) {
				t.Errorf("page lacks %q", tt.want)
			}
			if tt.name == "one typo" {
				for i, word := range w {
					if i != 2 && strings.Contains(page, word) {
						t.Errorf("page repeats the correct word %q", word)
					}
				}
			}
		})
	}
}

// TestLoginAfterRestore: once the log holds a RestoreDone entry, a wrong code's page adds that
// the service was restored on that day and that reports may have been lost.
func TestLoginAfterRestore(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "x"))
	wrong := "receipt=" + url.QueryEscape(wrongCode(t, code))
	restored := e.srv.fe.T("en", "followup.restored", "5 March 2026")
	_, page := e.post(e.client(), "/followup", "application/x-www-form-urlencoded", strings.NewReader(wrong))
	if strings.Contains(page, "restored from a backup") {
		t.Fatal("the restore sentence shows without a restore")
	}
	d, _ := day.Parse("2026-03-05")
	entry, err := (&logentry.Entry{Type: logentry.RestoreDone, Day: d, Actor: "admin"}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AppendLog([][]byte{entry}); err != nil {
		t.Fatal(err)
	}
	_, page = e.post(e.client(), "/followup", "application/x-www-form-urlencoded", strings.NewReader(wrong))
	if !strings.Contains(page, html.EscapeString(restored)) {
		t.Errorf("page lacks %q", restored)
	}
	// A typo is still a typo.
	_, page = e.post(e.client(), "/followup", "application/x-www-form-urlencoded", strings.NewReader("receipt=abacuss"))
	if strings.Contains(page, "restored from a backup") {
		t.Error("the restore sentence shows for a word that is not in the list")
	}
}
