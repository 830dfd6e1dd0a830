package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func testSigningKey(t testing.TB, seed byte) *SigningKey {
	t.Helper()
	k, err := GenerateSigningKey(testRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	k := testSigningKey(t, 1)
	msg := []byte("case 1234 closed")
	sig, err := k.Sign("candor/envelope", msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != SignatureSize {
		t.Fatalf("got %d-byte signature, want %d", len(sig), SignatureSize)
	}
	if err := k.Public().Verify("candor/envelope", msg, sig); err != nil {
		t.Fatalf("valid signature: %v", err)
	}

	other := testSigningKey(t, 2)
	otherSig, _ := other.Sign("candor/envelope", msg)
	flip := func(i int) []byte { s := bytes.Clone(sig); s[i] ^= 1; return s }
	// A signature whose halves come from two different keys.
	spliced := append(bytes.Clone(sig[:ed25519.SignatureSize]), otherSig[ed25519.SignatureSize:]...)
	splicedOther := append(bytes.Clone(otherSig[:ed25519.SignatureSize]), sig[ed25519.SignatureSize:]...)

	tests := []struct {
		name    string
		key     *VerifyKey
		context string
		msg     []byte
		sig     []byte
		wantErr string
	}{
		{"tampered Ed25519 half", k.Public(), "candor/envelope", msg, flip(10), "the Ed25519 half is invalid"},
		{"tampered ML-DSA half", k.Public(), "candor/envelope", msg, flip(ed25519.SignatureSize + 100), "the ML-DSA-65 half is invalid"},
		{"tampered last byte", k.Public(), "candor/envelope", msg, flip(SignatureSize - 1), "ML-DSA-65"},
		{"ML-DSA half from another key", k.Public(), "candor/envelope", msg, spliced, "the ML-DSA-65 half is invalid"},
		{"Ed25519 half from another key", k.Public(), "candor/envelope", msg, splicedOther, "the Ed25519 half is invalid"},
		{"wrong context", k.Public(), "candor/card", msg, sig, "both halves are invalid"},
		{"context prefix", k.Public(), "candor/env", msg, sig, "both halves are invalid"},
		{"empty context", k.Public(), "", msg, sig, "context is 0 bytes"},
		{"long context", k.Public(), strings.Repeat("c", 256), msg, sig, "context is 256 bytes"},
		{"wrong message", k.Public(), "candor/envelope", []byte("case 1234 open"), sig, "both halves"},
		{"truncated", k.Public(), "candor/envelope", msg, sig[:SignatureSize-1], "want 3373"},
		{"extended", k.Public(), "candor/envelope", msg, append(bytes.Clone(sig), 0), "want 3373"},
		{"empty", k.Public(), "candor/envelope", msg, nil, "signature is 0 bytes"},
		{"other key", other.Public(), "candor/envelope", msg, sig, "both halves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.key.Verify(tt.context, tt.msg, tt.sig)
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestSignContextBinding checks that a context cannot be shifted into the message for Ed25519:
// ("ab", "c…") and ("a", "bc…") sign different messages.
func TestSignContextBinding(t *testing.T) {
	k := testSigningKey(t, 3)
	sig, _ := k.Sign("candor/ab", []byte("cd"))
	if err := k.Public().Verify("candor/a", []byte("bcd"), sig); err == nil {
		t.Errorf("signature moved between context and message")
	}
}

func TestSignRejectsBadContext(t *testing.T) {
	k := testSigningKey(t, 4)
	for _, c := range []string{"", strings.Repeat("x", 256)} {
		if _, err := k.Sign(c, []byte("m")); err == nil {
			t.Errorf("Sign with a %d-byte context succeeded", len(c))
		}
	}
	if _, err := k.Sign(strings.Repeat("x", 255), []byte("m")); err != nil {
		t.Errorf("Sign with a 255-byte context: %v", err)
	}
}

func TestSigningKeyEncoding(t *testing.T) {
	k := testSigningKey(t, 5)
	b, _ := k.MarshalBinary()
	if len(b) != SigningKeySize {
		t.Fatalf("got %d bytes, want %d", len(b), SigningKeySize)
	}
	k2, err := ParseSigningKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Public().Equal(k.Public()) {
		t.Errorf("parsed signing key has a different public key")
	}
	sig, _ := k2.Sign("candor/bundle", []byte("m"))
	if err := k.Public().Verify("candor/bundle", []byte("m"), sig); err != nil {
		t.Errorf("signature of the parsed key: %v", err)
	}
	if k3 := testSigningKey(t, 5); !k3.Public().Equal(k.Public()) {
		t.Errorf("same seed gave a different key")
	}
	for _, n := range []int{0, 32, 63, 65} {
		if _, err := ParseSigningKey(make([]byte, n)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%d bytes: got %v, want ErrInvalidKey", n, err)
		}
	}
	if _, err := GenerateSigningKey(bytes.NewReader(make([]byte, 63))); err == nil {
		t.Errorf("GenerateSigningKey with 63 bytes of randomness succeeded")
	}
}

func TestVerifyKeyEncoding(t *testing.T) {
	k := testSigningKey(t, 6)
	b, _ := k.Public().MarshalBinary()
	if len(b) != VerifyKeySize {
		t.Fatalf("got %d bytes, want %d", len(b), VerifyKeySize)
	}
	v, err := ParseVerifyKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Equal(k.Public()) || !bytes.Equal(v.Bytes(), b) {
		t.Errorf("verify key does not round-trip")
	}
	// Swapped halves or the other key's half must not verify.
	other := testSigningKey(t, 7).Public().Bytes()
	mixed := append(bytes.Clone(b[:ed25519.PublicKeySize]), other[ed25519.PublicKeySize:]...)
	mv, err := ParseVerifyKey(mixed)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := k.Sign("candor/card", []byte("m"))
	if err := mv.Verify("candor/card", []byte("m"), sig); err == nil {
		t.Errorf("a key with another ML-DSA half verified the signature")
	}
	for _, n := range []int{0, VerifyKeySize - 1, VerifyKeySize + 1} {
		if _, err := ParseVerifyKey(make([]byte, n)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%d bytes: got %v, want ErrInvalidKey", n, err)
		}
	}
}

func FuzzParseVerifyKey(f *testing.F) {
	f.Add(testSigningKey(f, 1).Public().Bytes())
	f.Add(make([]byte, VerifyKeySize))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVerifyKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(v.Bytes(), b) {
			t.Fatalf("verify key does not round-trip")
		}
		// Arbitrary keys must never verify a signature of a real key, nor panic.
		if v.Verify("candor/card", []byte("m"), make([]byte, SignatureSize)) == nil {
			t.Fatalf("all-zero signature verified")
		}
	})
}

func FuzzParseSigningKey(f *testing.F) {
	b, _ := testSigningKey(f, 1).MarshalBinary()
	f.Add(b)
	f.Add(make([]byte, SigningKeySize))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseSigningKey(b)
		if err != nil {
			if len(b) == SigningKeySize {
				t.Fatalf("%d-byte key rejected: %v", SigningKeySize, err)
			}
			return
		}
		again, _ := k.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("signing key does not round-trip")
		}
		msg := append([]byte("msg"), b...)
		sig, err := k.Sign("candor/fuzz", msg)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ParseVerifyKey(k.Public().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify("candor/fuzz", msg, sig); err != nil {
			t.Fatalf("own signature: %v", err)
		}
	})
}

func TestVerifyKeyFingerprint(t *testing.T) {
	a, err := GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fa := a.Public().Fingerprint()
	if got, err := ParseFingerprint(strings.ToUpper(strings.ReplaceAll(fa, "-", " "))); err != nil || got != fa {
		t.Errorf("ParseFingerprint(%q spelled otherwise) = %q, %v; want %q", fa, got, err, fa)
	}
	again, err := ParseVerifyKey(a.Public().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != fa {
		t.Errorf("a parsed copy of the key has fingerprint %s, want %s", again.Fingerprint(), fa)
	}
	if fb := b.Public().Fingerprint(); fb == fa {
		t.Errorf("two keys share the fingerprint %s", fa)
	}
}
