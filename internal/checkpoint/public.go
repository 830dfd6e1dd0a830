package checkpoint

import (
	"crypto/ed25519"
	"fmt"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"golang.org/x/mod/sumdb/note"
)

// NewLogVerifierFromKeys returns the verifier of the log named origin from its two public keys:
// edPub (32 bytes) and mlPub (the 1952-byte ML-DSA-65 public key). A server whose log signer is
// built from the seeds of its crypto.SigningKey (NewSignerFromSeeds) has exactly these public
// keys in its crypto.VerifyKey, so an inbox that pinned that key needs no other.
func NewLogVerifierFromKeys(origin string, edPub, mlPub []byte) (*LogVerifier, error) {
	if !ValidOrigin(origin) {
		return nil, fmt.Errorf("%w: invalid origin", ErrInvalid)
	}
	if len(edPub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrKey, len(edPub))
	}
	pub := new(mldsa65.PublicKey)
	if err := pub.UnmarshalBinary(mlPub); err != nil {
		return nil, fmt.Errorf("%w: ML-DSA-65 public key: %v", ErrKey, err)
	}
	edKey, err := note.NewEd25519VerifierKey(origin, ed25519.PublicKey(edPub))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	ml := &mldsaVerifier{name: origin, hash: keyID(origin, typeMLDSA65, mlPub), pub: pub}
	return NewLogVerifier(edKey + " " + ml.String())
}
