package filename

import (
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"candor/internal/frame"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../../etc/passwd", "passwd"},
		{`C:\Users\me\secret.docx`, "secret.docx"},
		{"a\x00b.txt", "ab.txt"},
		{"invoice\u202egpj.exe", "invoicegpj.exe"},
		{"\u2067x\u2069.pdf", "x.pdf"},
		{"a\u202ab\u202bc\u202cd\u202de\u2066f\u2068g\u200eh\u200fi\u061cj.txt", "abcdefghij.txt"},
		{"zero\u200bwidth\u200d\ufeff.txt", "zerowidth.txt"},
		{"bad\xffutf8.txt", "bad\uFFFDutf8.txt"},
		{"...hidden", "hidden"},
		{"trailing. . ", "trailing"},
		{"ctrl\x1b[31m\t.txt", "ctrl[31m.txt"},
		{"line\u2028break.txt", "line break.txt"},
		{`a<b>c:d"e|f?g*h.txt`, "a_b_c_d_e_f_g_h.txt"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"Lpt9.log", "_Lpt9.log"},
		{"COM¹", "_COM¹"},
		{"console.txt", "console.txt"},
		{"COM10", "COM10"},
		{strings.Repeat("A", 4096) + ".pdf", strings.Repeat("A", MaxRunes-4) + ".pdf"},
		{strings.Repeat("é", 300), strings.Repeat("é", MaxBytes/2)},
		{strings.Repeat("😀", 300) + ".txt", strings.Repeat("😀", (MaxBytes-4)/4) + ".txt"},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 24)], func(t *testing.T) {
			if got := Sanitize(tt.in, "fallback"); got != tt.want {
				t.Errorf("Sanitize(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSanitizeNeverEmpty(t *testing.T) {
	tests := []struct{ in, fallback, want string }{
		{"", "file-1", "file-1"},
		{"...", "file-2", "file-2"},
		{"/", "", DefaultName},
		{"\u202e\u200b", "../x\u202e", "x"},
		{" . ", " . ", DefaultName},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in, tt.fallback); got != tt.want {
			t.Errorf("Sanitize(%q, %q): got %q, want %q", tt.in, tt.fallback, got, tt.want)
		}
	}
}

// checkSafe fails unless n is a safe, non-empty single path element.
func checkSafe(t *testing.T, n string) {
	t.Helper()
	switch {
	case n == "" || n == "." || n == "..":
		t.Fatalf("got %q, not a name", n)
	case !utf8.ValidString(n):
		t.Fatalf("got %q, invalid UTF-8", n)
	case len(n) > MaxBytes || utf8.RuneCountInString(n) > MaxRunes:
		t.Fatalf("got %q, %d bytes, %d runes", n, len(n), utf8.RuneCountInString(n))
	case strings.ContainsAny(n, "/\\<>:\"|?*"):
		t.Fatalf("got %q, holds a separator or a character Windows refuses", n)
	case strings.HasPrefix(n, ".") || strings.HasPrefix(n, " ") || strings.HasSuffix(n, ".") || strings.HasSuffix(n, " "):
		t.Fatalf("got %q, leading or trailing dot or space", n)
	case reserved(n):
		t.Fatalf("got %q, a Windows device name", n)
	}
	for _, r := range n {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || IsBidiControl(r) || (unicode.IsSpace(r) && r != ' ') {
			t.Fatalf("got %q, holds %U", n, r)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"a.txt", "../x", "a\x00b", "invoice\u202egpj.exe", strings.Repeat("é", 300),
		`C:\a\b`, "CON.txt", "...", strings.Repeat("a", 99) + ". .pdf", "\u061c\u200e.\u2066"} {
		f.Add(s, "file-1")
	}
	f.Fuzz(func(t *testing.T, name, fallback string) {
		n := Sanitize(name, fallback)
		checkSafe(t, n)
		// The server frames the name of every uploaded file (internal/frame).
		if _, err := frame.NewWriter(io.Discard).Part(frame.KindFile, n, "application/octet-stream"); err != nil {
			t.Fatalf("frame refuses sanitised name %q: %v", n, err)
		}
		if again := Sanitize(n, fallback); again != n {
			t.Fatalf("not idempotent: %q then %q", n, again)
		}
	})
}
