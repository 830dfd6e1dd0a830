package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Sizes of the binary encodings of hybrid keys and signatures.
const (
	// SigningKeySize is an Ed25519 seed followed by an ML-DSA-65 seed.
	SigningKeySize = ed25519.SeedSize + mldsa65.SeedSize
	// VerifyKeySize is an Ed25519 public key followed by an ML-DSA-65 public key.
	VerifyKeySize = ed25519.PublicKeySize + mldsa65.PublicKeySize
	// SignatureSize is an Ed25519 signature followed by an ML-DSA-65 signature.
	SignatureSize = ed25519.SignatureSize + mldsa65.SignatureSize
)

// maxContext is the longest signature context: ML-DSA's limit.
const maxContext = 255

// ed25519Domain starts the message that the Ed25519 half signs (see [SigningKey.Sign]).
const ed25519Domain = "candor hybrid signature v1\x00"

// A SigningKey is a hybrid signing key: Ed25519 and ML-DSA-65, both derived from seeds. A signature
// is valid only if both halves verify, so it stays unforgeable as long as either scheme holds.
//
// A SigningKey is safe for concurrent use. It formats as "[signing key redacted]" with every fmt
// verb.
type SigningKey struct {
	seed   [SigningKeySize]byte
	ed     ed25519.PrivateKey
	ml     *mldsa65.PrivateKey
	public *VerifyKey
}

// GenerateSigningKey draws a new signing key (two 32-byte seeds) from rand, which should be
// crypto/rand.Reader outside tests.
func GenerateSigningKey(rand io.Reader) (*SigningKey, error) {
	var seed [SigningKeySize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("generating signing key: reading randomness: %w", err)
	}
	k := newSigningKey(&seed)
	clear(seed[:])
	return k, nil
}

// ParseSigningKey decodes the [SigningKeySize]-byte encoding made by [SigningKey.MarshalBinary].
// Errors wrap [ErrInvalidKey] and never include the input.
func ParseSigningKey(b []byte) (*SigningKey, error) {
	if len(b) != SigningKeySize {
		return nil, fmt.Errorf("%w: signing key is %d bytes, want %d", ErrInvalidKey, len(b), SigningKeySize)
	}
	return newSigningKey((*[SigningKeySize]byte)(b)), nil
}

func newSigningKey(seed *[SigningKeySize]byte) *SigningKey {
	k := &SigningKey{seed: *seed}
	k.ed = ed25519.NewKeyFromSeed(k.seed[:ed25519.SeedSize])
	mlPub, mlPriv := mldsa65.NewKeyFromSeed((*[mldsa65.SeedSize]byte)(k.seed[ed25519.SeedSize:]))
	k.ml = mlPriv
	k.public = &VerifyKey{ed: k.ed.Public().(ed25519.PublicKey), ml: mlPub}
	return k
}

// MarshalBinary returns the two seeds, [SigningKeySize] bytes. The result is secret.
func (k *SigningKey) MarshalBinary() ([]byte, error) {
	return append([]byte(nil), k.seed[:]...), nil
}

// Public returns the verification key of k.
func (k *SigningKey) Public() *VerifyKey { return k.public }

// Sign signs msg under context, a short string naming what is signed ("candor/card",
// "candor/envelope", "candor/checkpoint", "candor/bundle"), so that a signature made for one
// purpose never verifies for another. context must be 1 to 255 bytes.
//
// The Ed25519 half signs "candor hybrid signature v1\x00" ‖ len(context) (1 byte) ‖ context ‖ msg;
// the ML-DSA-65 half signs msg with context as its native context string (FIPS 204), hedged with
// fresh randomness. The signature is the Ed25519 signature followed by the ML-DSA-65 one,
// [SignatureSize] bytes.
func (k *SigningKey) Sign(context string, msg []byte) ([]byte, error) {
	if err := checkContext(context); err != nil {
		return nil, err
	}
	sig := make([]byte, SignatureSize)
	copy(sig, ed25519.Sign(k.ed, ed25519Message(context, msg)))
	if err := mldsa65.SignTo(k.ml, msg, []byte(context), true, sig[ed25519.SignatureSize:]); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// Format implements [fmt.Formatter] so that printing a SigningKey never reveals it.
func (k *SigningKey) Format(f fmt.State, verb rune) {
	io.WriteString(f, "[signing key redacted]")
}

func checkContext(context string) error {
	if len(context) == 0 || len(context) > maxContext {
		return fmt.Errorf("signature context is %d bytes, want 1 to %d", len(context), maxContext)
	}
	return nil
}

func ed25519Message(context string, msg []byte) []byte {
	m := make([]byte, 0, len(ed25519Domain)+1+len(context)+len(msg))
	m = append(m, ed25519Domain...)
	m = append(m, byte(len(context)))
	m = append(m, context...)
	return append(m, msg...)
}

// A VerifyKey is the public half of a [SigningKey]. It is safe for concurrent use.
type VerifyKey struct {
	ed ed25519.PublicKey
	ml *mldsa65.PublicKey
}

// ParseVerifyKey decodes the [VerifyKeySize]-byte encoding made by [VerifyKey.MarshalBinary].
// Errors wrap [ErrInvalidKey].
func ParseVerifyKey(b []byte) (*VerifyKey, error) {
	if len(b) != VerifyKeySize {
		return nil, fmt.Errorf("%w: verify key is %d bytes, want %d", ErrInvalidKey, len(b), VerifyKeySize)
	}
	ml := new(mldsa65.PublicKey)
	if err := ml.UnmarshalBinary(b[ed25519.PublicKeySize:]); err != nil {
		return nil, fmt.Errorf("%w: ML-DSA-65 public key: %v", ErrInvalidKey, err)
	}
	ed := ed25519.PublicKey(append([]byte(nil), b[:ed25519.PublicKeySize]...))
	return &VerifyKey{ed: ed, ml: ml}, nil
}

// Bytes returns the Ed25519 public key followed by the ML-DSA-65 public key, [VerifyKeySize] bytes.
func (v *VerifyKey) Bytes() []byte {
	b := make([]byte, 0, VerifyKeySize)
	b = append(b, v.ed...)
	return append(b, v.ml.Bytes()...)
}

// MarshalBinary returns [VerifyKey.Bytes]; it never fails.
func (v *VerifyKey) MarshalBinary() ([]byte, error) { return v.Bytes(), nil }

// Fingerprint names the key the way a card's fingerprint names a reviewer: 24 base32 characters
// in six groups, 120 bits of SHA-256 over the key under its own domain (a key's and a card's
// fingerprint never coincide). The server's key is compared by this fingerprint when an inbox
// first trusts it; [ParseFingerprint] accepts either.
func (v *VerifyKey) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte(keyFingerprintDomain))
	h.Write(v.Bytes())
	return formatFingerprint(fingerprintEncoding.EncodeToString(h.Sum(nil)[:fingerprintBytes]))
}

const keyFingerprintDomain = "candor verify key fingerprint v1\n"

// Equal reports whether v and u are the same key.
func (v *VerifyKey) Equal(u *VerifyKey) bool {
	return u != nil && v.ed.Equal(u.ed) && v.ml.Equal(u.ml)
}

// Verify checks sig over msg under context (see [SigningKey.Sign]). It returns nil only if both the
// Ed25519 and the ML-DSA-65 halves verify; otherwise an error wrapping [ErrSignature].
func (v *VerifyKey) Verify(context string, msg, sig []byte) error {
	if err := checkContext(context); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrSignature, len(sig), SignatureSize)
	}
	edOK := ed25519.Verify(v.ed, ed25519Message(context, msg), sig[:ed25519.SignatureSize])
	mlOK := mldsa65.Verify(v.ml, msg, []byte(context), sig[ed25519.SignatureSize:])
	switch {
	case !edOK && !mlOK:
		return fmt.Errorf("%w: both halves are invalid", ErrSignature)
	case !edOK:
		return fmt.Errorf("%w: the Ed25519 half is invalid", ErrSignature)
	case !mlOK:
		return fmt.Errorf("%w: the ML-DSA-65 half is invalid", ErrSignature)
	}
	return nil
}
