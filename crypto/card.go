package crypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
)

// CardContext is the signature context of a card's self-signature.
const CardContext = "candor/card"

// MaxCardSize bounds the text [ParseCard] accepts; a card is about 9.2 KB.
const MaxCardSize = 16 << 10

// MaxCardName is the longest reviewer name on a card, in runes.
const MaxCardName = 64

const (
	cardMagic         = "candor-card/v1"
	fingerprintDomain = "candor card fingerprint v1\n"
	fingerprintBytes  = 15
	fingerprintGroups = 6
)

var fingerprintEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// A Card is a reviewer's public card: their name, their age hybrid recipient (to which reports are
// encrypted) and their hybrid verify key (which checks their replies and status changes),
// self-signed with the matching signing key. Admins register reviewers by card, and everyone
// refers to a reviewer by the card's [Card.Fingerprint].
//
// A card is text, easy to paste into an email:
//
//	candor-card/v1
//	name: Alice Example
//	recipient: age1pq1…
//	verify-key: <standard base64 of the VerifyKey encoding>
//	signature: <standard base64 of the signature>
//
// The signature covers the first four lines, each with its "\n" (the card's signed body), under
// [CardContext]. A Card is immutable and safe for concurrent use.
type Card struct {
	name      string
	recipient *age.HybridRecipient
	verifyKey *VerifyKey
	signature []byte
}

// NewCard makes and signs a card for a reviewer named name (1 to [MaxCardName] printable runes, no
// surrounding spaces) whose age hybrid recipient is recipient (age1pq1…) and whose signing key is k.
func NewCard(name, recipient string, k *SigningKey) (*Card, error) {
	if err := checkCardName(name); err != nil {
		return nil, err
	}
	r, err := parseHybridRecipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient: %w", ErrInvalidCard, err)
	}
	c := &Card{name: name, recipient: r, verifyKey: k.Public()}
	if c.signature, err = k.Sign(CardContext, c.body()); err != nil {
		return nil, fmt.Errorf("signing card: %w", err)
	}
	return c, nil
}

func checkCardName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: name is not valid UTF-8", ErrInvalidCard)
	case name == "":
		return fmt.Errorf("%w: name is empty", ErrInvalidCard)
	case utf8.RuneCountInString(name) > MaxCardName:
		return fmt.Errorf("%w: name is longer than %d characters", ErrInvalidCard, MaxCardName)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: name starts or ends with a space", ErrInvalidCard)
	}
	for _, r := range name {
		// IsPrint admits letters, marks, numbers, punctuation, symbols and the ASCII space, and so
		// refuses control, format (bidirectional overrides) and other space characters.
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: name contains a control or invisible character (U+%04X)", ErrInvalidCard, r)
		}
	}
	return nil
}

// body returns the signed part of the card: every line but the signature, each ending in "\n".
func (c *Card) body() []byte {
	var b bytes.Buffer
	b.WriteString(cardMagic + "\n")
	b.WriteString("name: " + c.name + "\n")
	b.WriteString("recipient: " + c.recipient.String() + "\n")
	b.WriteString("verify-key: " + base64.StdEncoding.EncodeToString(c.verifyKey.Bytes()) + "\n")
	return b.Bytes()
}

// Marshal returns the card's canonical text, ending in a newline.
func (c *Card) Marshal() []byte {
	b := c.body()
	b = append(b, "signature: "...)
	b = base64.StdEncoding.AppendEncode(b, c.signature)
	return append(b, '\n')
}

// Name returns the reviewer's name.
func (c *Card) Name() string { return c.name }

// Recipient returns the reviewer's age hybrid recipient.
func (c *Card) Recipient() *age.HybridRecipient { return c.recipient }

// VerifyKey returns the reviewer's hybrid verify key.
func (c *Card) VerifyKey() *VerifyKey { return c.verifyKey }

// Fingerprint returns the card's fingerprint: the lowercase base32 (RFC 4648 alphabet, no padding)
// of the first 15 bytes of SHA-256("candor card fingerprint v1\n" ‖ signed body), as six groups of
// four letters joined by "-", e.g. "abcd-efgh-ijkl-mnop-qrst-uvwx" (120 bits).
//
// The signed body holds the name as well as both public keys, so renaming a reviewer gives a new
// card with a new fingerprint: a fingerprint someone checked always shows the name they saw. The
// signature is left out because ML-DSA signatures are randomised; re-signing the same fields keeps
// the fingerprint.
func (c *Card) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte(fingerprintDomain))
	h.Write(c.body())
	return formatFingerprint(fingerprintEncoding.EncodeToString(h.Sum(nil)[:fingerprintBytes]))
}

func formatFingerprint(s string) string {
	s = strings.ToLower(s)
	groups := make([]string, 0, fingerprintGroups)
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	return strings.Join(groups, "-")
}

// ParseFingerprint normalises a fingerprint as a person might type it — any case, with or without
// spaces and dashes — to the canonical form that [Card.Fingerprint] returns. Errors wrap
// [ErrInvalidFingerprint].
func ParseFingerprint(s string) (string, error) {
	if len(s) > 256 {
		return "", fmt.Errorf("%w: too long", ErrInvalidFingerprint)
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case 'a' <= r && r <= 'z' || '2' <= r && r <= '7':
			b.WriteRune(r)
		case 'A' <= r && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		default:
			return "", fmt.Errorf("%w: only letters, digits 2 to 7, spaces and dashes may appear", ErrInvalidFingerprint)
		}
	}
	want := fingerprintEncoding.EncodedLen(fingerprintBytes)
	if b.Len() != want {
		return "", fmt.Errorf("%w: got %d characters, want %d", ErrInvalidFingerprint, b.Len(), want)
	}
	return formatFingerprint(b.String()), nil
}

// ParseCard parses a card and verifies its self-signature. Parsing is strict: the five lines must
// appear in order, each exactly once, with a single space after each colon, the name and keys in
// their canonical encodings, and nothing else but comment lines: lines starting with "#" (such as
// the "# fingerprint:" line that candor-inbox card prints) are ignored wherever they appear, as is
// whitespace around the whole card (leading or trailing blank lines), and lines may end in "\r\n"
// (a card pasted from an email). So an admin can paste exactly what the reviewer sent.
//
// Errors wrap [ErrInvalidCard] or [ErrSignature].
func ParseCard(b []byte) (*Card, error) {
	if len(b) > MaxCardSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidCard, MaxCardSize)
	}
	lines := cardLines(b)
	if len(lines) != 5 {
		return nil, fmt.Errorf("%w: got %d lines, want 5 (besides # comments and blank lines around the card)",
			ErrInvalidCard, len(lines))
	}
	if lines[0] != cardMagic {
		return nil, fmt.Errorf("%w: the first line is not %q", ErrInvalidCard, cardMagic)
	}
	fields, err := cardFields(lines[1:])
	if err != nil {
		return nil, err
	}
	c, err := decodeCard(fields)
	if err != nil {
		return nil, err
	}
	if err := c.verifyKey.Verify(CardContext, c.body(), c.signature); err != nil {
		return nil, fmt.Errorf("card self-signature: %w", err)
	}
	return c, nil
}

// cardLines returns the lines of a pasted card: "\r\n" read as "\n", comment lines (starting with
// "#", such as the "# fingerprint:" line candor-inbox card prints) dropped, and blank lines and
// spaces around the whole card trimmed.
func cardLines(b []byte) []string {
	var kept []string
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if !strings.HasPrefix(strings.TrimLeft(l, " \t"), "#") {
			kept = append(kept, l)
		}
	}
	return strings.Split(strings.TrimSpace(strings.Join(kept, "\n")), "\n")
}

// cardFields returns the values of the name, recipient, verify-key and signature lines, in order.
func cardFields(lines []string) ([4]string, error) {
	var values [4]string
	for i, key := range [4]string{"name", "recipient", "verify-key", "signature"} {
		v, ok := strings.CutPrefix(lines[i], key+": ")
		if !ok {
			return values, fmt.Errorf("%w: line %d is not the %q line", ErrInvalidCard, i+2, key)
		}
		values[i] = v
	}
	return values, nil
}

func decodeCard(f [4]string) (*Card, error) {
	if err := checkCardName(f[0]); err != nil {
		return nil, err
	}
	r, err := parseHybridRecipient(f[1])
	if err != nil {
		return nil, fmt.Errorf("%w: recipient: %w", ErrInvalidCard, err)
	}
	if r.String() != f[1] {
		return nil, fmt.Errorf("%w: recipient is not in canonical (lowercase) form", ErrInvalidCard)
	}
	vk, err := decodeBase64(f[2])
	if err != nil {
		return nil, fmt.Errorf("%w: verify-key is not standard base64", ErrInvalidCard)
	}
	v, err := ParseVerifyKey(vk)
	if err != nil {
		return nil, fmt.Errorf("%w: verify-key: %w", ErrInvalidCard, err)
	}
	sig, err := decodeBase64(f[3])
	if err != nil || len(sig) != SignatureSize {
		return nil, fmt.Errorf("%w: signature is not %d bytes of standard base64", ErrInvalidCard, SignatureSize)
	}
	return &Card{name: f[0], recipient: r, verifyKey: v, signature: sig}, nil
}

// decodeBase64 decodes canonical standard base64 only: the decoder alone would skip CR and LF
// characters inside the input.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return nil, errors.New("non-canonical base64")
	}
	return b, nil
}
