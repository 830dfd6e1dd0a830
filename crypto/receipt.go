package crypto

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
)

// ReceiptWords is the number of words in a receipt code.
const ReceiptWords = 8

// maxReceiptInput bounds the text ParseReceipt looks at: eight of the longest words with generous
// separators fit many times over.
const maxReceiptInput = 512

//go:embed eff_large_wordlist.txt
var effLargeWordlist string

// receiptWordlist is the EFF large wordlist less its four hyphenated entries (drop-down, felt-tip,
// t-shirt, yo-yo), so that a hyphen can separate words. 7,772 words give 12.92 bits each, 103.4
// bits for a code of eight.
var receiptWordlist = sync.OnceValue(func() []string {
	var words []string
	for line := range strings.Lines(effLargeWordlist) {
		_, w, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok || strings.Contains(w, "-") {
			continue
		}
		words = append(words, w)
	}
	return words
})

var receiptWordIndex = sync.OnceValue(func() map[string]uint16 {
	m := make(map[string]uint16, len(receiptWordlist()))
	for i, w := range receiptWordlist() {
		m[w] = uint16(i)
	}
	return m
})

// A Receipt is a reporter's receipt code: eight words drawn uniformly from the EFF large wordlist
// (without its hyphenated words). It is the only secret a reporter keeps; everything else about
// their case is derived from it (see [Deriver]).
//
// The zero Receipt is not a code: [Deriver.Derive] rejects it. Receipts are comparable values.
//
// To keep codes out of logs by accident, a Receipt formats as "[receipt code redacted]" with every
// fmt verb; call [Receipt.String] to get the code itself.
type Receipt struct {
	words [ReceiptWords]uint16
	valid bool
}

// NewReceipt draws a new receipt code from rand, which should be crypto/rand.Reader outside tests.
func NewReceipt(rand io.Reader) (Receipt, error) {
	n := len(receiptWordlist())
	// Rejection sampling: keep 16-bit values below the largest multiple of n, so every word is
	// equally likely.
	limit := 65536 - 65536%n
	var r Receipt
	var buf [2]byte
	for i := 0; i < ReceiptWords; {
		if _, err := io.ReadFull(rand, buf[:]); err != nil {
			return Receipt{}, fmt.Errorf("receipt code: reading randomness: %w", err)
		}
		v := int(binary.BigEndian.Uint16(buf[:]))
		if v >= limit {
			continue
		}
		r.words[i] = uint16(v % n)
		i++
	}
	r.valid = true
	return r, nil
}

// ParseReceipt parses a receipt code as a person might type it: letter case is ignored, and words
// may be separated by any run of spaces (any Unicode space, tabs and line breaks included),
// hyphens or dashes, dots and commas — the reporter's follow-up page promises exactly this.
//
// Errors wrap [ErrInvalidReceipt]. They name the position of an unknown word ("the 3rd word") or
// the number of words found, but never a word of the input, so they are safe to show and log.
func ParseReceipt(s string) (Receipt, error) {
	if len(s) > maxReceiptInput {
		return Receipt{}, fmt.Errorf("%w: too long", ErrInvalidReceipt)
	}
	fields := strings.FieldsFunc(s, isReceiptSeparator)
	if len(fields) == 0 {
		return Receipt{}, fmt.Errorf("%w: empty", ErrInvalidReceipt)
	}
	index := receiptWordIndex()
	var r Receipt
	for i, f := range fields {
		w, ok := index[asciiLower(f)]
		if !ok {
			return Receipt{}, fmt.Errorf("%w: the %s word is not in the word list", ErrInvalidReceipt, ordinal(i+1))
		}
		if i < ReceiptWords {
			r.words[i] = w
		}
	}
	if len(fields) != ReceiptWords {
		return Receipt{}, fmt.Errorf("%w: got %d words, want %d", ErrInvalidReceipt, len(fields), ReceiptWords)
	}
	r.valid = true
	return r, nil
}

// ReceiptWordsNotInList tells a person what to fix in a code that [ParseReceipt] refused: the
// words of s, as typed, that are not in the word list (at most max of them, in order), and how
// many words s holds. Both depend only on the public word list, never on which codes exist, so
// they are safe to show to whoever typed s (they are the typed input: never log them). Input
// longer than ParseReceipt accepts gives nil and 0.
func ReceiptWordsNotInList(s string, max int) (unknown []string, words int) {
	if len(s) > maxReceiptInput {
		return nil, 0
	}
	index := receiptWordIndex()
	fields := strings.FieldsFunc(s, isReceiptSeparator)
	for _, f := range fields {
		if _, ok := index[asciiLower(f)]; !ok && len(unknown) < max {
			unknown = append(unknown, f)
		}
	}
	return unknown, len(fields)
}

func isReceiptSeparator(r rune) bool {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212', // hyphens, dashes, minus
		'.', ',', '\u3001', '\u3002': // dots and commas (ideographic too)
		return true
	}
	return unicode.IsSpace(r)
}

// asciiLower folds only ASCII letters: Unicode folding would map look-alikes such as the Kelvin
// sign onto word-list letters.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// String returns the code: eight lowercase words separated by single spaces. It is the canonical
// form that [ParseReceipt] accepts and that key derivation uses. The zero Receipt returns "".
func (r Receipt) String() string {
	if !r.valid {
		return ""
	}
	words := receiptWordlist()
	var b strings.Builder
	for i, w := range r.words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[w])
	}
	return b.String()
}

// Format implements [fmt.Formatter] so that printing a Receipt with any verb never reveals it.
func (r Receipt) Format(f fmt.State, verb rune) {
	io.WriteString(f, "[receipt code redacted]")
}

// IsZero reports whether r is the zero Receipt (not a code).
func (r Receipt) IsZero() bool { return !r.valid }
