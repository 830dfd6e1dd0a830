package crypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
)

// BIP-173 test vectors (valid Bech32 strings; their data parts are 5-bit groups that need not
// decode to whole bytes, so only the checksum is checked here).
var bip173Valid = []string{
	"A12UEL5L",
	"a12uel5l",
	"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
	"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
}

func TestBech32ChecksumVectors(t *testing.T) {
	for _, s := range bip173Valid {
		pos := strings.LastIndexByte(s, '1')
		hrp := strings.ToLower(s[:pos])
		var values []byte
		for _, c := range strings.ToLower(s[pos+1:]) {
			values = append(values, byte(strings.IndexRune(bech32Charset, c)))
		}
		if got := bech32Polymod(append(bech32HRPExpand(hrp), values...)); got != 1 {
			t.Errorf("%s: checksum polymod = %d, want 1", s, got)
		}
	}
}

// bech32FromValues builds a string with a valid checksum from raw 5-bit groups.
func bech32FromValues(hrp string, values []byte) string {
	mod := bech32Polymod(append(append(bech32HRPExpand(hrp), values...), 0, 0, 0, 0, 0, 0)) ^ 1
	s := hrp + "1"
	for _, v := range values {
		s += string(bech32Charset[v])
	}
	for i := range 6 {
		s += string(bech32Charset[mod>>(5*(5-i))&31])
	}
	return s
}

func TestBech32Invalid(t *testing.T) {
	tests := []struct{ name, in string }{
		{"hrp char out of range", "\x201nwldj5"},
		{"hrp char DEL", "\x7f1axkwrx"},
		{"no separator", "pzry9x0s0muk"},
		{"empty hrp", "1pzry9x0s0muk"},
		{"invalid data char", "x1b4n0q5v"},
		{"too short checksum", "li1dgmt3"},
		{"invalid char in checksum", "de1lg7wt\xff"},
		{"mixed case", "A1G7SGD8"[:1] + "1g7sgd8"},
		{"empty hrp 2", "10a06t8"},
		{"bad checksum", "a12uel5m"},
		// One byte is 8 bits: two 5-bit groups with 2 padding bits, which must be zero.
		{"non-zero padding", bech32FromValues("a", []byte{0, 1})},
		{"padding too long", bech32FromValues("a", []byte{0, 0, 0})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := bech32Decode(tt.in); !errors.Is(err, errBech32) {
				t.Errorf("bech32Decode(%q): got %v, want errBech32", tt.in, err)
			}
		})
	}
}

// TestBech32Age checks interoperability with age's own (internal) Bech32: keys age encodes decode
// here, and keys encoded here parse in age.
func TestBech32Age(t *testing.T) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	hrp, seed, err := bech32Decode(id.String())
	if err != nil {
		t.Fatal(err)
	}
	if hrp != "AGE-SECRET-KEY-PQ-" || len(seed) != 32 {
		t.Fatalf("got hrp %q and %d bytes, want AGE-SECRET-KEY-PQ- and 32", hrp, len(seed))
	}
	s, err := bech32Encode("AGE-SECRET-KEY-PQ-", seed)
	if err != nil {
		t.Fatal(err)
	}
	if s != id.String() {
		t.Errorf("re-encoding an age identity gives a different string")
	}
	again, err := age.ParseHybridIdentity(s)
	if err != nil {
		t.Fatal(err)
	}
	if again.Recipient().String() != id.Recipient().String() {
		t.Errorf("re-encoded identity has a different recipient")
	}
	rcpt := id.Recipient().String()
	hrp, pk, err := bech32Decode(rcpt)
	if err != nil || hrp != "age1pq" {
		t.Fatalf("decoding a recipient: hrp %q, err %v", hrp, err)
	}
	if s, _ := bech32Encode("age1pq", pk); s != rcpt {
		t.Errorf("re-encoding a recipient gives a different string")
	}
}

func TestBech32EncodeRejectsBadHRP(t *testing.T) {
	for _, hrp := range []string{"", "Mixed", "sp ace", "caf\u00e9"} {
		if _, err := bech32Encode(hrp, []byte{1}); err == nil {
			t.Errorf("bech32Encode(%q) succeeded", hrp)
		}
	}
}

func FuzzBech32(f *testing.F) {
	f.Add("age", []byte{})
	f.Add("age1pq", bytes.Repeat([]byte{0x42}, 64))
	f.Add("AGE-SECRET-KEY-PQ-", bytes.Repeat([]byte{7}, 32))
	f.Add("a", []byte{0, 1, 2, 3, 255})
	f.Fuzz(func(t *testing.T, hrp string, data []byte) {
		s, err := bech32Encode(hrp, data)
		if err != nil {
			return
		}
		gotHRP, got, err := bech32Decode(s)
		if err != nil {
			t.Fatalf("decoding %q: %v", s, err)
		}
		if gotHRP != hrp || !bytes.Equal(got, data) {
			t.Fatalf("round trip: got %q %x, want %q %x", gotHRP, got, hrp, data)
		}
		// Any string that decodes must re-encode to itself (in lowercase or uppercase).
		if h, d, err := bech32Decode(hrp + "1" + s[len(hrp)+1:]); err == nil {
			if again, _ := bech32Encode(h, d); !strings.EqualFold(again, s) {
				t.Fatalf("decode/encode of %q gives %q", s, again)
			}
		}
		// A single changed character must be detected.
		mutated := []byte(s)
		i := len(hrp) + 1 + len(data)%(len(s)-len(hrp)-1)
		mutated[i] = bech32Charset[(strings.IndexByte(bech32Charset, toLowerByte(mutated[i]))+1)%32]
		if strings.ToUpper(hrp) == hrp && hrp != strings.ToLower(hrp) {
			mutated[i] = toUpperByte(mutated[i])
		}
		if _, _, err := bech32Decode(string(mutated)); err == nil {
			t.Fatalf("changing character %d of %q went unnoticed", i, s)
		}
	})
}

func toLowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func toUpperByte(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
