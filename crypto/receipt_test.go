package crypto

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// testRand returns a deterministic randomness source for tests.
func testRand(seed byte) *rand.ChaCha8 {
	return rand.NewChaCha8([32]byte{seed})
}

func TestReceiptWordlist(t *testing.T) {
	words := receiptWordlist()
	if got, want := len(words), 7772; got != want {
		t.Fatalf("got %d words, want %d", got, want)
	}
	seen := map[string]bool{}
	for _, w := range words {
		if seen[w] {
			t.Errorf("duplicate word %q", w)
		}
		seen[w] = true
		if strings.IndexFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
			t.Errorf("word %q has a character other than a-z", w)
		}
	}
}

func TestNewReceipt(t *testing.T) {
	r, err := NewReceipt(testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	s := r.String()
	if got := len(strings.Split(s, " ")); got != ReceiptWords {
		t.Fatalf("got %d words in %q, want %d", got, s, ReceiptWords)
	}
	again, err := NewReceipt(testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if again != r {
		t.Errorf("same randomness gave different codes")
	}
	other, _ := NewReceipt(testRand(2))
	if other == r {
		t.Errorf("different randomness gave the same code")
	}
	parsed, err := ParseReceipt(s)
	if err != nil {
		t.Fatalf("ParseReceipt(String()): %v", err)
	}
	if parsed != r {
		t.Errorf("ParseReceipt(String()) differs from the original")
	}
}

func TestNewReceiptShortRandomness(t *testing.T) {
	_, err := NewReceipt(iotest.ErrReader(errors.New("entropy exhausted")))
	if err == nil {
		t.Fatal("NewReceipt succeeded with a failing reader")
	}
	_, err = NewReceipt(strings.NewReader("abc"))
	if err == nil {
		t.Fatal("NewReceipt succeeded with 3 bytes of randomness")
	}
}

// TestNewReceiptUniform checks that rejection sampling reaches the whole list: with all-0xff input
// every 16-bit draw is rejected until the reader changes.
func TestNewReceiptRejectsBiasedDraws(t *testing.T) {
	// 0xffff is above the sampling limit and must be skipped; 0x0000 then gives word 0.
	input := strings.Repeat("\xff\xff\x00\x00", ReceiptWords)
	r, err := NewReceipt(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), strings.TrimSpace(strings.Repeat("abacus ", ReceiptWords)); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseReceipt(t *testing.T) {
	const canon = "abacus abdomen abdominal abide abiding ability ablaze able"
	tests := []struct {
		name, in string
		wantErr  string // substring; "" means success
	}{
		{"canonical", canon, ""},
		{"upper case", strings.ToUpper(canon), ""},
		{"mixed case", "Abacus ABDOMEN abdominal abide abiding ability ablaze able", ""},
		{"hyphens", strings.ReplaceAll(canon, " ", "-"), ""},
		{"extra spaces", "  abacus   abdomen abdominal abide abiding ability ablaze able  ", ""},
		{"tabs and newlines", "abacus\tabdomen\nabdominal\r\nabide abiding\n\nability ablaze able\n", ""},
		{"mixed separators", "abacus - abdomen -- abdominal abide-abiding ability ablaze able", ""},
		{"empty", "", "empty"},
		{"only separators", " - \t\n", "empty"},
		{"seven words", "abacus abdomen abdominal abide abiding ability ablaze", "got 7 words, want 8"},
		{"nine words", canon + " abacus", "got 9 words, want 8"},
		{"unknown 3rd", "abacus abdomen zzqxj abide abiding ability ablaze able", "the 3rd word is not in the word list"},
		{"unknown 1st", "xyzzy abdomen abdominal abide abiding ability ablaze able", "the 1st word"},
		{"unknown 12th", canon + " abacus abacus abacus qqq", "the 12th word"},
		{"hyphenated list word", "drop-down abdomen abdominal abide abiding ability ablaze able", "the 1st word"},
		{"kelvin sign", "abacus abdomen abdominal abide abiding ability ablaze \u212Aite", "the 8th word"},
		{"commas", "abacus, abdomen,abdominal, abide abiding ability ablaze able", ""},
		{"dots", "abacus.abdomen. abdominal abide abiding ability ablaze able.", ""},
		{"dashes and no-break spaces", "abacus \u2013 abdomen\u2014abdominal\u00a0abide\u2011abiding\u3000ability ablaze able", ""},
		{"semicolon", "abacus; abdomen abdominal abide abiding ability ablaze able", "the 1st word"},
		{"too long", strings.Repeat("abacus ", 100), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseReceipt(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				if got := r.String(); got != canon {
					t.Errorf("got %q, want %q", got, canon)
				}
				return
			}
			if err == nil {
				t.Fatalf("got success, want error containing %q", tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidReceipt) {
				t.Errorf("error %v does not wrap ErrInvalidReceipt", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestReceiptWordsNotInList(t *testing.T) {
	tests := []struct {
		in      string
		max     int
		unknown []string
		words   int
	}{
		{"abacus abdomen abdominal abide abiding ability ablaze able", 8, nil, 8},
		{"Abacus, ABDOMNE abdominal abide abiding abilty ablaze able", 8, []string{"ABDOMNE", "abilty"}, 8},
		{"abacus abdomen", 8, nil, 2},
		{"xx yy zz", 2, []string{"xx", "yy"}, 3},
		{"drop-down", 8, []string{"drop"}, 2}, // "down" is a word; "drop" is not
		{"", 8, nil, 0},
		{strings.Repeat("abacus ", 100), 8, nil, 0},
	}
	for _, tt := range tests {
		unknown, words := ReceiptWordsNotInList(tt.in, tt.max)
		if !slices.Equal(unknown, tt.unknown) || words != tt.words {
			t.Errorf("ReceiptWordsNotInList(%.40q) = %q, %d; want %q, %d", tt.in, unknown, words, tt.unknown, tt.words)
		}
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 103: "103rd", 111: "111th"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestReceiptFormatRedacted(t *testing.T) {
	r, _ := NewReceipt(testRand(3))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		got := fmt.Sprintf(verb, r)
		for _, w := range strings.Fields(r.String()) {
			if strings.Contains(got, w) {
				t.Errorf("fmt %s of a Receipt gives %q, which contains a word of the code", verb, got)
			}
		}
	}
	var zero Receipt
	if !zero.IsZero() || zero.String() != "" {
		t.Errorf("zero Receipt: IsZero %v, String %q; want true, \"\"", zero.IsZero(), zero.String())
	}
}

var receiptErrorRE = regexp.MustCompile(`^invalid receipt code: (too long|empty|the \d+(st|nd|rd|th) word is not in the word list|got \d+ words, want 8)$`)

func FuzzParseReceipt(f *testing.F) {
	for i := range byte(4) {
		r, _ := NewReceipt(testRand(i))
		f.Add(r.String())
		f.Add(strings.ToUpper(strings.ReplaceAll(r.String(), " ", "-")))
	}
	f.Add("abacus abdomen zzqxj abide abiding ability ablaze able")
	f.Add("drop-down t-shirt yo-yo felt-tip")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReceipt(s)
		unknown, words := ReceiptWordsNotInList(s, 100)
		if err == nil && (len(unknown) != 0 || words != ReceiptWords) {
			t.Fatalf("a code that parses has %d words, %d of them unknown", words, len(unknown))
		}
		for _, w := range unknown {
			if !strings.Contains(s, w) {
				t.Fatalf("unknown word %q is not part of the input", w)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidReceipt) {
				t.Fatalf("error %v does not wrap ErrInvalidReceipt", err)
			}
			// Every error has one of a few fixed shapes, so none can echo the input.
			if !receiptErrorRE.MatchString(err.Error()) {
				t.Fatalf("unexpected error shape %q", err)
			}
			return
		}
		again, err := ParseReceipt(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: got %v, %v", s, again.String(), err)
		}
		if got, want := r.String(), strings.ToLower(strings.Join(strings.FieldsFunc(s, isReceiptSeparator), " ")); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
