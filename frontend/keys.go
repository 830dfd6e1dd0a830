package frontend

import "strings"

// Catalog keys that handlers format themselves with Frontend.T (the catalog tests count them as
// used).
const (
	KeyNoticeSent   = "case.notice.sent" // CaseData.Notice after a follow-up message was stored
	KeyLoginMissing = "followup.missing" // FollowupData.Error: the log has the case, the store lost it; arg: entry index
)

// handlerKeys returns the keys above and those of ReceiptProblem.
func handlerKeys() []string {
	return []string{KeyNoticeSent, KeyLoginMissing, "followup.count", "quote"}
}

// maxShownWord bounds how much of one typed word ReceiptProblem repeats.
const maxShownWord = 40

// ReceiptProblem returns the message for a receipt code that does not parse, in lang: the typed
// words that are not in the word list (unknown, as crypto.ReceiptWordsNotInList returns them),
// or, when every word is a list word, that typed words were given where want are needed. The
// message repeats the typed words to the person who typed them: show it, never log it.
func (f *Frontend) ReceiptProblem(lang string, unknown []string, typed, want int) string {
	if len(unknown) == 0 {
		return f.T(lang, "followup.count", typed, want)
	}
	quoted := make([]string, len(unknown))
	for i, w := range unknown {
		if r := []rune(w); len(r) > maxShownWord {
			w = string(r[:maxShownWord]) + "…"
		}
		quoted[i] = f.T(lang, "quote", w)
	}
	c, ok := f.cats[lang]
	if !ok {
		c = f.cats[DefaultLanguage]
	}
	return c.format(f.cats[DefaultLanguage], "followup.words."+c.plural(len(unknown)), len(unknown), strings.Join(quoted, ", "))
}
