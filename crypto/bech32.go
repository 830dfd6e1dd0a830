package crypto

// A small Bech32 (BIP-173) encoder and decoder, written from the specification because age's
// implementation is internal to its module. Like age, and unlike BIP-173, it does not limit the
// length of a string: age's hybrid recipients are about 1,960 characters long.
//
// Secret keys pass through these functions, so their errors never describe the input beyond a
// fixed reason: no characters, no positions of bad characters, no lengths of the data part.

import (
	"errors"
	"fmt"
	"strings"
)

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// errBech32 is returned, wrapped with a fixed reason, for any malformed Bech32 string.
var errBech32 = errors.New("malformed bech32 string")

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

// bech32HRPExpand expands a lowercase human-readable part for the checksum.
func bech32HRPExpand(hrp string) []byte {
	out := make([]byte, 0, 2*len(hrp)+1)
	for i := range len(hrp) {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := range len(hrp) {
		out = append(out, hrp[i]&31)
	}
	return out
}

// convertBits regroups data from groups of from bits into groups of to bits. With pad, the last
// group is zero-padded; without it, leftover bits must be fewer than from and all zero.
func convertBits(data []byte, from, to uint, pad bool) ([]byte, bool) {
	var acc, bits uint
	maxv := uint(1)<<to - 1
	out := make([]byte, 0, len(data)*int(from)/int(to)+1)
	for _, v := range data {
		if uint(v)>>from != 0 {
			return nil, false
		}
		acc = acc<<from | uint(v)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(to-bits)&maxv))
		}
		return out, true
	}
	if bits >= from || acc<<(to-bits)&maxv != 0 {
		return nil, false
	}
	return out, true
}

// bech32Encode encodes data under the human-readable part hrp. The result is lowercase if hrp is,
// uppercase if hrp is uppercase; a mixed-case or empty hrp, or one with characters outside
// ASCII 33..126, is an error.
func bech32Encode(hrp string, data []byte) (string, error) {
	if err := checkHRP(hrp); err != nil {
		return "", err
	}
	upper := strings.ToLower(hrp) != hrp
	hrp = strings.ToLower(hrp)
	values, _ := convertBits(data, 8, 5, true)
	chk := append(bech32HRPExpand(hrp), values...)
	mod := bech32Polymod(append(chk, 0, 0, 0, 0, 0, 0)) ^ 1
	var b strings.Builder
	b.Grow(len(hrp) + 1 + len(values) + 6)
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range values {
		b.WriteByte(bech32Charset[v])
	}
	for i := range 6 {
		b.WriteByte(bech32Charset[mod>>(5*(5-i))&31])
	}
	if upper {
		return strings.ToUpper(b.String()), nil
	}
	return b.String(), nil
}

func checkHRP(hrp string) error {
	if hrp == "" {
		return bech32Error("empty human-readable part")
	}
	for i := range len(hrp) {
		if hrp[i] < 33 || hrp[i] > 126 {
			return bech32Error("invalid character in human-readable part")
		}
	}
	if strings.ToLower(hrp) != hrp && strings.ToUpper(hrp) != hrp {
		return bech32Error("mixed case")
	}
	return nil
}

// bech32Error wraps errBech32 with a fixed reason (never a part of the input).
func bech32Error(reason string) error { return fmt.Errorf("%w: %s", errBech32, reason) }

// bech32Decode decodes a Bech32 string. The human-readable part is returned in the case of s
// (which must not be mixed). Errors wrap errBech32 and never include any part of s.
func bech32Decode(s string) (hrp string, data []byte, err error) {
	if strings.ToLower(s) != s && strings.ToUpper(s) != s {
		return "", nil, bech32Error("mixed case")
	}
	pos := strings.LastIndexByte(s, '1')
	if pos < 1 || pos+7 > len(s) {
		return "", nil, bech32Error("separator missing or misplaced")
	}
	hrp = s[:pos]
	if err := checkHRP(hrp); err != nil {
		return "", nil, err
	}
	values := make([]byte, 0, len(s)-pos-1)
	for i := pos + 1; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		d := strings.IndexByte(bech32Charset, c)
		if d < 0 {
			return "", nil, bech32Error("invalid character in data part")
		}
		values = append(values, byte(d))
	}
	if bech32Polymod(append(bech32HRPExpand(strings.ToLower(hrp)), values...)) != 1 {
		return "", nil, bech32Error("invalid checksum")
	}
	data, ok := convertBits(values[:len(values)-6], 5, 8, false)
	if !ok {
		return "", nil, bech32Error("invalid padding")
	}
	return hrp, data, nil
}
