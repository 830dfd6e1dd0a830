package crypto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
)

func testCard(t testing.TB, name string, seed byte) (*Card, *SigningKey) {
	t.Helper()
	k := testSigningKey(t, seed)
	c, err := NewCard(name, newHybridIdentity(t).Recipient().String(), k)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func TestCardRoundTrip(t *testing.T) {
	c, k := testCard(t, "Alice Example", 1)
	text := c.Marshal()
	if !bytes.HasPrefix(text, []byte("candor-card/v1\nname: Alice Example\nrecipient: age1pq1")) || !bytes.HasSuffix(text, []byte("\n")) {
		t.Fatalf("unexpected card text:\n%.120s", text)
	}
	if len(text) > MaxCardSize {
		t.Fatalf("card is %d bytes, over MaxCardSize", len(text))
	}
	got, err := ParseCard(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "Alice Example" || got.Recipient().String() != c.Recipient().String() || !got.VerifyKey().Equal(k.Public()) {
		t.Errorf("parsed card differs from the original")
	}
	if !bytes.Equal(got.Marshal(), text) {
		t.Errorf("Marshal of the parsed card differs")
	}
	if got.Fingerprint() != c.Fingerprint() {
		t.Errorf("fingerprint changed through a round trip")
	}
	// Lenient around the card, not inside it.
	for name, in := range map[string][]byte{
		"no final newline": bytes.TrimSuffix(text, []byte("\n")),
		"blank lines":      append(append([]byte("\n\n  "), text...), "\n\n"...),
		"CRLF":             bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n")),
	} {
		if _, err := ParseCard(in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCardFingerprint(t *testing.T) {
	c, k := testCard(t, "Alice Example", 2)
	fp := c.Fingerprint()
	if !regexp.MustCompile(`^[a-z2-7]{4}(-[a-z2-7]{4}){5}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q does not have the documented form", fp)
	}
	// Re-signing the same fields (ML-DSA is randomised) keeps the fingerprint.
	again, _ := NewCard("Alice Example", c.Recipient().String(), k)
	if bytes.Equal(again.Marshal(), c.Marshal()) {
		t.Errorf("two signatures are identical; expected hedged ML-DSA signatures")
	}
	if again.Fingerprint() != fp {
		t.Errorf("re-signed card has a different fingerprint")
	}
	renamed, _ := NewCard("Alice Exampel", c.Recipient().String(), k)
	if renamed.Fingerprint() == fp {
		t.Errorf("renamed card keeps the fingerprint")
	}
	otherKey, _ := NewCard("Alice Example", c.Recipient().String(), testSigningKey(t, 3))
	if otherKey.Fingerprint() == fp {
		t.Errorf("card with another verify key keeps the fingerprint")
	}
	otherRecipient, _ := NewCard("Alice Example", newHybridIdentity(t).Recipient().String(), k)
	if otherRecipient.Fingerprint() == fp {
		t.Errorf("card with another recipient keeps the fingerprint")
	}
}

func TestParseFingerprint(t *testing.T) {
	const canon = "abcd-efgh-ijkl-mnop-qrst-uv23"
	tests := []struct{ in, want string }{
		{canon, canon},
		{"ABCD-EFGH-IJKL-MNOP-QRST-UV23", canon},
		{"abcdefghijklmnopqrstuv23", canon},
		{" abcd efgh ijkl mnop qrst uv23 ", canon},
		{"ab-cd-ef--gh\tijklmnopqrstuv23", canon},
		{"", ""},
		{"abcd-efgh-ijkl-mnop-qrst-uv2", ""},
		{"abcd-efgh-ijkl-mnop-qrst-uv234", ""},
		{"abcd-efgh-ijkl-mnop-qrst-uv18", ""}, // 1 and 8 are not in the alphabet
		{"abcd-efgh-ijkl-mnop-qrst-uv2é", ""},
		{strings.Repeat("a", 300), ""},
	}
	for _, tt := range tests {
		got, err := ParseFingerprint(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidFingerprint) {
				t.Errorf("ParseFingerprint(%q) = %q, %v; want ErrInvalidFingerprint", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFingerprint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	c, _ := testCard(t, "Bob", 4)
	if got, err := ParseFingerprint(strings.ToUpper(c.Fingerprint())); err != nil || got != c.Fingerprint() {
		t.Errorf("a card's own fingerprint does not parse back: %q, %v", got, err)
	}
}

func TestNewCardRejectsNames(t *testing.T) {
	k := testSigningKey(t, 5)
	r := newHybridIdentity(t).Recipient().String()
	for _, name := range []string{
		"", " Alice", "Alice ", "Al\nice", "Al\tice", "Al\x00ice", "Al\u202eice", "Al\u200bice",
		strings.Repeat("a", MaxCardName+1), "\xff\xfe",
	} {
		if _, err := NewCard(name, r, k); !errors.Is(err, ErrInvalidCard) {
			t.Errorf("NewCard(%q): got %v, want ErrInvalidCard", name, err)
		}
	}
	for _, name := range []string{"A", "Zoë Ombudsperson", "王小明", strings.Repeat("é", MaxCardName), "O'Brien & Partners (Audit)"} {
		c, err := NewCard(name, r, k)
		if err != nil {
			t.Errorf("NewCard(%q): %v", name, err)
			continue
		}
		if _, err := ParseCard(c.Marshal()); err != nil {
			t.Errorf("ParseCard of %q: %v", name, err)
		}
	}
	if _, err := NewCard("Alice", classicRecipient(t), k); !errors.Is(err, ErrRecipient) {
		t.Errorf("NewCard with a classic recipient: got %v, want ErrRecipient", err)
	}
}

func classicRecipient(t testing.TB) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

func TestParseCardRejects(t *testing.T) {
	c, _ := testCard(t, "Alice Example", 6)
	other, _ := testCard(t, "Mallory", 7)
	text := string(c.Marshal())
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	otherLines := strings.Split(strings.TrimSuffix(string(other.Marshal()), "\n"), "\n")
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	replace := func(i int, l string) string {
		ls := append([]string(nil), lines...)
		ls[i] = l
		return join(ls...)
	}
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[4], "signature: "))
	flip := func(i int) string {
		s := bytes.Clone(sig)
		s[i] ^= 1
		return replace(4, "signature: "+base64.StdEncoding.EncodeToString(s))
	}

	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrInvalidCard},
		{"wrong magic", replace(0, "candor-card/v2"), ErrInvalidCard},
		{"swapped lines", join(lines[0], lines[2], lines[1], lines[3], lines[4]), ErrInvalidCard},
		{"duplicate name", join(lines[0], lines[1], lines[1], lines[2], lines[3], lines[4]), ErrInvalidCard},
		{"missing signature", join(lines[:4]...), ErrInvalidCard},
		{"extra line", text + "comment: hi\n", ErrInvalidCard},
		{"fingerprint line without #", text + "fingerprint: " + c.Fingerprint() + "\n", ErrInvalidCard},
		{"only comments", "# candor-card/v1\n# name: Alice\n", ErrInvalidCard},
		{"blank line inside", join(lines[0], "", lines[1], lines[2], lines[3], lines[4]), ErrInvalidCard},
		{"no space after colon", replace(1, "name:Alice Example"), ErrInvalidCard},
		{"two spaces after colon", replace(1, "name:  Alice Example"), ErrInvalidCard},
		{"upper-case key", replace(1, "Name: Alice Example"), ErrInvalidCard},
		{"control character", replace(1, "name: Alice\x07Example"), ErrInvalidCard},
		{"lone CR", replace(1, "name: Alice\rExample"), ErrInvalidCard},
		{"invalid UTF-8", replace(1, "name: Alice \xff"), ErrInvalidCard},
		{"upper-case recipient", replace(2, "recipient: "+strings.ToUpper(c.Recipient().String())), ErrInvalidCard},
		{"classic recipient", replace(2, "recipient: "+classicRecipient(t)), ErrRecipient},
		{"verify key not base64", replace(3, "verify-key: !!!"), ErrInvalidCard},
		{"verify key URL base64", replace(3, strings.NewReplacer("+", "-", "/", "_").Replace(lines[3])), ErrInvalidCard},
		{"verify key without padding", replace(3, strings.TrimRight(lines[3], "=")), ErrInvalidCard},
		{"verify key short", replace(3, "verify-key: "+base64.StdEncoding.EncodeToString(make([]byte, 32))), ErrInvalidKey},
		{"signature short", replace(4, "signature: AAAA"), ErrInvalidCard},
		{"signature with CR inside", replace(4, lines[4][:50]+"\r"+lines[4][50:]), ErrInvalidCard},
		{"renamed", replace(1, "name: Alice Exampel"), ErrSignature},
		{"other recipient", replace(2, otherLines[2]), ErrSignature},
		{"other verify key", replace(3, otherLines[3]), ErrSignature},
		{"other signature", replace(4, otherLines[4]), ErrSignature},
		{"tampered Ed25519 half", flip(3), ErrSignature},
		{"tampered ML-DSA half", flip(1000), ErrSignature},
		{"too large", text + strings.Repeat(" ", MaxCardSize), ErrInvalidCard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCard([]byte(tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// pasted is c as an admin may paste it: what candor-inbox card prints (with its fingerprint
// comment), with CRLF line ends, a comment on top and blank lines around it.
func pasted(c *Card) []byte {
	text := fmt.Sprintf("%s# fingerprint: %s\n", c.Marshal(), c.Fingerprint())
	return []byte("\r\n# from Alice, 1 December\r\n\r\n" + strings.ReplaceAll(text, "\n", "\r\n") + "\r\n\r\n")
}

// TestParseCardAcceptsPasted checks each leniency of ParseCard on its own and all together: what
// candor-inbox card prints, comment lines, surrounding blank lines and CRLF line ends.
func TestParseCardAcceptsPasted(t *testing.T) {
	c, _ := testCard(t, "Alice Example", 6)
	text := string(c.Marshal())
	tests := []struct{ name, in string }{
		{"canonical", text},
		{"candor-inbox card output", text + "# fingerprint: " + c.Fingerprint() + "\n"},
		{"comment on top", "# Alice's card\n" + text},
		{"indented comment", "  # Alice's card\n" + text},
		{"comment between lines", strings.Replace(text, "\nname:", "\n# the name\nname:", 1)},
		{"blank lines around", "\n\n" + text + "\n\n"},
		{"CRLF", strings.ReplaceAll(text, "\n", "\r\n")},
		{"all at once", string(pasted(c))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCard([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseCard: %v", err)
			}
			if got.Fingerprint() != c.Fingerprint() || !bytes.Equal(got.Marshal(), c.Marshal()) {
				t.Errorf("got another card (fingerprint %s, want %s)", got.Fingerprint(), c.Fingerprint())
			}
		})
	}
}

func FuzzParseCard(f *testing.F) {
	for i, name := range []string{"Alice Example", "Zoë", "王小明"} {
		c, _ := testCard(f, name, byte(10+i))
		f.Add(c.Marshal())
	}
	f.Add([]byte("candor-card/v1\nname: x\nrecipient: y\nverify-key: z\nsignature: w\n"))
	c, _ := testCard(f, "Alice Example", 13)
	f.Add(pasted(c))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCard(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidCard) && !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v wraps neither ErrInvalidCard nor ErrSignature", err)
			}
			return
		}
		text := c.Marshal()
		if got := strings.Join(cardLines(b), "\n") + "\n"; got != string(text) {
			t.Fatalf("accepted a non-canonical card:\n%q\nwant\n%q", got, text)
		}
		again, err := ParseCard(text)
		if err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
		if again.Fingerprint() != c.Fingerprint() {
			t.Fatalf("fingerprint changed through a round trip")
		}
	})
}
