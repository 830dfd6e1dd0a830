package server

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameRunes caps a sanitised file name; internal/frame allows 255 bytes, and 120 runes of up to
// 2 bytes each (plus the extension budget) stay well under it.
const maxNameRunes = 100

// SanitizeFilename turns the file name a browser sent into a safe display name: only the last
// path element (both / and \ separate), invalid UTF-8 replaced, control characters (C0, DEL, C1,
// NUL), bidirectional overrides and isolates, zero-width and other format characters removed,
// leading dots and surrounding spaces trimmed, and at most maxNameRunes runes, keeping a short
// extension. It never returns a name that internal/frame would refuse; an empty result means "no
// usable name" (the caller numbers the file instead).
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r): // Cf: bidi controls, ZWJ, BOM, …
			return -1
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ". ")
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = truncateName(name)
	}
	for len(name) > 255 { // a name of 4-byte runes: cut further
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// truncateName cuts name to maxNameRunes runes, keeping an extension of up to 10 runes.
func truncateName(name string) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && utf8.RuneCountInString(name[i:]) <= 10 {
		ext = name[i:]
		name = name[:i]
	}
	r := []rune(name)
	keep := maxNameRunes - utf8.RuneCountInString(ext)
	if keep < len(r) {
		r = r[:keep]
	}
	return strings.TrimSpace(string(r)) + ext
}

// sanitizeContentType keeps a browser-sent media type only if it is short printable ASCII of the
// form type/subtype; otherwise application/octet-stream.
func sanitizeContentType(ct string) string {
	const def = "application/octet-stream"
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "" || len(ct) > 100 || strings.Count(ct, "/") != 1 {
		return def
	}
	for _, r := range ct {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("/.+-_", r)) {
			return def
		}
	}
	return ct
}
