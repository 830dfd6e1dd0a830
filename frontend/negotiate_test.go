package frontend

import "testing"

func TestNegotiate(t *testing.T) {
	f := newTest(t)
	tests := []struct {
		name, query, cookie, accept, want string
	}{
		{"nothing", "", "", "", "en"},
		{"tor browser", "", "", "en-US,en;q=0.5", "en"},
		{"tor browser with choice", "de", "", "en-US,en;q=0.5", "de"},
		{"cookie", "", "de", "en-US,en;q=0.5", "de"},
		{"query beats cookie", "en", "de", "", "en"},
		{"bad query falls to cookie", "xx", "de", "", "de"},
		{"bad cookie falls to header", "", "<script>", "de-DE,de;q=0.9", "de"},
		{"region", "de-AT", "", "", "de"},
		{"underscore and case", "DE_ch", "", "", "de"},
		{"quality order", "", "", "fr;q=0.9, de;q=0.8, en;q=0.7", "de"},
		{"q zero refused", "", "", "de;q=0, en;q=0.1", "en"},
		{"wildcard", "", "", "*", "en"},
		{"malformed q", "", "", "de;q=abc, en;q=0.2", "en"},
		{"q above one", "", "", "de;q=2", "en"},
		{"unsupported only", "", "", "fr-FR,fr", "en"},
		{"stable ties", "", "", "de,en", "de"},
		{"overlong", "", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnop", "", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.Negotiate(tt.query, tt.cookie, tt.accept); got != tt.want {
				t.Errorf("Negotiate(%q, %q, %q): got %q, want %q", tt.query, tt.cookie, tt.accept, got, tt.want)
			}
		})
	}
}

// FuzzNegotiate checks that any input gives a supported language, and that a
// supported tag given explicitly always wins (the round trip of the language
// switch: a link ?lang=TAG must produce TAG).
func FuzzNegotiate(f *testing.F) {
	fe := newTest(f)
	for _, s := range []string{"en-US,en;q=0.5", "de-DE,de;q=0.9,en;q=0.8", "*", "de;q=0", ";;,,q=", "zh-Hant-TW;q=0.3"} {
		f.Add("", "", s)
	}
	f.Add("de", "en", "en-US,en")
	f.Fuzz(func(t *testing.T, query, cookie, accept string) {
		got := fe.Negotiate(query, cookie, accept)
		if _, ok := fe.cats[got]; !ok {
			t.Fatalf("Negotiate(%q, %q, %q) = %q: not a supported language", query, cookie, accept, got)
		}
		for _, l := range fe.Languages() {
			if got := fe.Negotiate(l.Tag, cookie, accept); got != l.Tag {
				t.Fatalf("explicit %q lost to %q", l.Tag, got)
			}
		}
	})
}

func BenchmarkNegotiate(b *testing.B) {
	f := newTest(b)
	for b.Loop() {
		f.Negotiate("", "", "fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7, *;q=0.5")
	}
}
