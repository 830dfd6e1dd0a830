// Package filename owns the one rule for turning a file name chosen by someone else (a reporter's
// browser, a frame inside a sealed report) into a name that is safe to show and to create on disk:
// [Sanitize]. The server uses it for uploaded files, the inbox for exported and attached ones.
//
// A sanitised name is a single path element that every common file system accepts, that displays
// as what it is (no bidirectional overrides turning "gpj.exe" into "exe.jpg"), and that is never
// empty. Sanitize is idempotent: a sanitised name comes back unchanged.
package filename

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a sanitised name. MaxBytes stays below the 255 bytes of internal/frame and of common
// file systems, leaving room for the "-2" an exporter adds to tell equal names apart.
const (
	MaxRunes = 100 // runes, keeping an extension of up to maxExtRunes
	MaxBytes = 200 // bytes of UTF-8, cut on a rune boundary
)

const maxExtRunes = 10

// DefaultName is what Sanitize falls back to when neither the name nor the fallback leaves
// anything.
const DefaultName = "file"

// Sanitize returns name as a safe file name:
//   - invalid UTF-8 becomes U+FFFD;
//   - only the last path element is kept (both / and \ separate);
//   - control characters (Cc), Unicode bidirectional controls (U+202A–U+202E, U+2066–U+2069,
//     U+200E, U+200F, U+061C) and every other format character (Cf: zero-width joiners, BOM, …)
//     are removed; other white space becomes a plain space;
//   - the characters Windows refuses in names (< > : " | ? *) become '_';
//   - leading dots and spaces, and trailing dots and spaces, are removed;
//   - a Windows device name (CON, PRN, AUX, NUL, COM1…, LPT1…, also with an extension) gets a
//     leading '_';
//   - the result is cut to MaxRunes runes and MaxBytes bytes on a rune boundary, keeping a short
//     extension.
//
// If nothing is left, Sanitize returns fallback sanitised the same way, or DefaultName if that is
// empty too. The result is never empty, and Sanitize(Sanitize(x, f), f) == Sanitize(x, f).
func Sanitize(name, fallback string) string {
	if s := sanitize(name); s != "" {
		return s
	}
	if s := sanitize(fallback); s != "" {
		return s
	}
	return DefaultName
}

func sanitize(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(mapRune, name)
	name = strings.Trim(name, ". ")
	if reserved(name) {
		name = "_" + name
	}
	return strings.TrimRight(truncate(name), ". ")
}

// mapRune drops or replaces one rune (-1 drops it).
func mapRune(r rune) rune {
	switch {
	case unicode.IsControl(r), IsBidiControl(r), unicode.Is(unicode.Cf, r):
		return -1
	case unicode.IsSpace(r):
		return ' '
	case strings.ContainsRune(`<>:"|?*`, r):
		return '_'
	}
	return r
}

// IsBidiControl reports whether r is one of the Unicode bidirectional formatting characters:
// embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), the left-to-right and
// right-to-left marks (U+200E, U+200F) and the Arabic letter mark (U+061C).
func IsBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// reserved reports whether name is a Windows device name, with or without an extension.
func reserved(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	switch strings.ToUpper(strings.TrimRight(stem, " ")) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	stem = strings.ToUpper(stem)
	if len(stem) < 4 || stem[:3] != "COM" && stem[:3] != "LPT" {
		return false
	}
	switch stem[3:] {
	case "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
		return true
	}
	return false
}

// truncate cuts name to MaxRunes runes and MaxBytes bytes, keeping an extension of up to
// maxExtRunes runes.
func truncate(name string) string {
	if utf8.RuneCountInString(name) <= MaxRunes && len(name) <= MaxBytes {
		return name
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && utf8.RuneCountInString(name[i:]) <= maxExtRunes {
		base, ext = name[:i], name[i:]
	}
	r := []rune(base)
	r = r[:min(len(r), MaxRunes-utf8.RuneCountInString(ext))]
	for len(string(r))+len(ext) > MaxBytes {
		r = r[:len(r)-1]
	}
	return strings.TrimRight(string(r), " ") + ext
}
