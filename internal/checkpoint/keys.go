package checkpoint

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"golang.org/x/mod/sumdb/note"
)

// Signature type identifiers (C2SP signed-note). ML-DSA-65 has no assigned byte: it uses 0xff
// followed by a fixed identifier, as the spec recommends for unassigned types.
const (
	typeEd25519     = "\x01"
	typeCosignature = "\x04"
	typeMLDSA65     = "\xffcandor/ml-dsa-65/v1"
)

// mldsaContext is the ML-DSA-65 context string of a checkpoint signature. It keeps these
// signatures apart from every other use of the same key (crypto.SigningKey signs under
// "candor/…" contexts too, but never this one).
const mldsaContext = "candor/checkpoint-note/v1"

// keyID returns the C2SP signed-note key ID: SHA-256(name || 0x0A || type || public key)[:4].
func keyID(name, typ string, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n" + typ))
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Signer signs checkpoints of one log with its Ed25519 and ML-DSA-65 keys. It is safe for
// concurrent use and formats as "[checkpoint signer redacted]".
type Signer struct {
	origin string
	ed     note.Signer
	edVKey string
	ml     *mldsaSigner
}

// NewSignerFromSeeds returns the signer for origin with the given Ed25519 and ML-DSA-65 seeds,
// for a caller that keeps the seeds elsewhere (one pair of seeds serves every epoch's origin).
func NewSignerFromSeeds(origin string, edSeed, mlSeed *[32]byte) (*Signer, error) {
	if !ValidOrigin(origin) {
		return nil, fmt.Errorf("%w: invalid origin", ErrInvalid)
	}
	return newSigner(origin, edSeed, mlSeed), nil
}

func newSigner(origin string, edSeed, mlSeed *[32]byte) *Signer {
	edPriv := ed25519.NewKeyFromSeed(edSeed[:])
	edPub := edPriv.Public().(ed25519.PublicKey)
	edHash := keyID(origin, typeEd25519, edPub)
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", origin, edHash,
		base64.StdEncoding.EncodeToString(append([]byte(typeEd25519), edSeed[:]...)))
	ed, err := note.NewSigner(skey)
	if err != nil {
		panic("checkpoint: building Ed25519 note signer: " + err.Error()) // origin was validated
	}
	vkey, err := note.NewEd25519VerifierKey(origin, edPub)
	if err != nil {
		panic("checkpoint: building Ed25519 verifier key: " + err.Error())
	}
	pub, priv := mldsa65.NewKeyFromSeed(mlSeed)
	return &Signer{origin: origin, ed: ed, edVKey: vkey, ml: &mldsaSigner{
		mldsaVerifier: mldsaVerifier{name: origin, hash: keyID(origin, typeMLDSA65, pub.Bytes()), pub: pub},
		priv:          priv,
	}}
}

// Origin returns the log's origin, which is also the name of both its note keys.
func (s *Signer) Origin() string { return s.origin }

// Ed25519VerifierKey returns the note verifier key of the Ed25519 half: the key a witness is
// configured with (witnessctl add-key).
func (s *Signer) Ed25519VerifierKey() string { return s.edVKey }

// LogKey returns the log's public key as one line: the Ed25519 verifier key, a space, and the
// ML-DSA-65 verifier key. NewLogVerifier decodes it.
func (s *Signer) LogKey() string { return s.edVKey + " " + s.ml.String() }

// String redacts the signer.
func (s *Signer) String() string { return "[checkpoint signer redacted]" }

// GoString redacts the signer.
func (s *Signer) GoString() string { return s.String() }

// Sign returns the signed note of c: its text, a blank line, the Ed25519 line and the ML-DSA-65
// line. c.Origin must be the signer's origin.
func (s *Signer) Sign(c *Checkpoint) ([]byte, error) {
	if c.Origin != s.origin {
		return nil, fmt.Errorf("%w: checkpoint origin %q is not the signer's %q", ErrInvalid, c.Origin, s.origin)
	}
	text, err := c.Text()
	if err != nil {
		return nil, err
	}
	b, err := note.Sign(&note.Note{Text: string(text)}, s.ed, s.ml)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: signing: %w", err)
	}
	return b, nil
}

// mldsaVerifier is the note.Verifier of the ML-DSA-65 line.
type mldsaVerifier struct {
	name string
	hash uint32
	pub  *mldsa65.PublicKey
}

func (v *mldsaVerifier) Name() string    { return v.name }
func (v *mldsaVerifier) KeyHash() uint32 { return v.hash }
func (v *mldsaVerifier) Verify(msg, sig []byte) bool {
	return len(sig) == mldsa65.SignatureSize && mldsa65.Verify(v.pub, msg, []byte(mldsaContext), sig)
}

// String returns the verifier key: "<name>+<key ID>+<base64(0xff || "candor/ml-dsa-65/v1" || public key)>".
func (v *mldsaVerifier) String() string {
	return fmt.Sprintf("%s+%08x+%s", v.name, v.hash,
		base64.StdEncoding.EncodeToString(append([]byte(typeMLDSA65), v.pub.Bytes()...)))
}

type mldsaSigner struct {
	mldsaVerifier
	priv *mldsa65.PrivateKey
}

func (s *mldsaSigner) Sign(msg []byte) ([]byte, error) {
	sig := make([]byte, mldsa65.SignatureSize)
	if err := mldsa65.SignTo(s.priv, msg, []byte(mldsaContext), true, sig); err != nil {
		return nil, err
	}
	return sig, nil
}

// LogVerifier verifies the two signature lines of a log's checkpoints.
type LogVerifier struct {
	ed     note.Verifier
	edVKey string
	ml     *mldsaVerifier
}

// NewLogVerifier decodes a log key made by Signer.LogKey. Both halves must name the same origin.
func NewLogVerifier(logKey string) (*LogVerifier, error) {
	edKey, mlKey, ok := strings.Cut(logKey, " ")
	if !ok {
		return nil, fmt.Errorf("%w: a log key is two verifier keys separated by a space", ErrKey)
	}
	ed, err := note.NewVerifier(edKey)
	if err != nil {
		return nil, fmt.Errorf("%w: Ed25519 verifier key: %v", ErrKey, err)
	}
	ml, err := parseMLDSAVerifier(mlKey)
	if err != nil {
		return nil, err
	}
	if ed.Name() != ml.name {
		return nil, fmt.Errorf("%w: the two verifier keys name different logs", ErrKey)
	}
	return &LogVerifier{ed: ed, edVKey: edKey, ml: ml}, nil
}

// Origin returns the log's origin (the name of its keys).
func (v *LogVerifier) Origin() string { return v.ml.name }

// String returns the log key (as Signer.LogKey does).
func (v *LogVerifier) String() string { return v.edVKey + " " + v.ml.String() }

// Ed25519VerifierKey returns the note verifier key of the Ed25519 half (what witnesses know).
func (v *LogVerifier) Ed25519VerifierKey() string { return v.edVKey }

func parseMLDSAVerifier(vkey string) (*mldsaVerifier, error) {
	name, hash, raw, err := parseVKey(vkey)
	if err != nil {
		return nil, err
	}
	if len(raw) != len(typeMLDSA65)+mldsa65.PublicKeySize || string(raw[:len(typeMLDSA65)]) != typeMLDSA65 {
		return nil, fmt.Errorf("%w: not an ML-DSA-65 checkpoint verifier key", ErrKey)
	}
	pub := new(mldsa65.PublicKey)
	if err := pub.UnmarshalBinary(raw[len(typeMLDSA65):]); err != nil {
		return nil, fmt.Errorf("%w: ML-DSA-65 public key: %v", ErrKey, err)
	}
	if keyID(name, typeMLDSA65, raw[len(typeMLDSA65):]) != hash {
		return nil, fmt.Errorf("%w: ML-DSA-65 verifier key ID does not match", ErrKey)
	}
	return &mldsaVerifier{name: name, hash: hash, pub: pub}, nil
}

// parseVKey splits a verifier key "<name>+<hex key ID>+<base64 key>".
func parseVKey(vkey string) (string, uint32, []byte, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 || !ValidOrigin(parts[0]) || len(parts[1]) != 8 {
		return "", 0, nil, fmt.Errorf("%w: malformed verifier key", ErrKey)
	}
	hash, err1 := strconv.ParseUint(parts[1], 16, 32)
	raw, err2 := base64.StdEncoding.Strict().DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(raw) == 0 {
		return "", 0, nil, fmt.Errorf("%w: malformed verifier key", ErrKey)
	}
	return parts[0], uint32(hash), raw, nil
}

// WithOrigin returns the verifier of the same keys under another origin: the log's next epoch
// (see docs/protocol.md, "Epochs"). Key IDs change with the name; the public keys do not.
func (v *LogVerifier) WithOrigin(origin string) (*LogVerifier, error) {
	if !ValidOrigin(origin) {
		return nil, fmt.Errorf("%w: invalid origin", ErrInvalid)
	}
	_, _, raw, err := parseVKey(v.edVKey)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 verifier key", ErrKey)
	}
	edKey, err := note.NewEd25519VerifierKey(origin, ed25519.PublicKey(raw[1:]))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	ml := &mldsaVerifier{name: origin, hash: keyID(origin, typeMLDSA65, v.ml.pub.Bytes()), pub: v.ml.pub}
	return NewLogVerifier(edKey + " " + ml.String())
}
