package checkpoint

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
)

// CosignatureVerifier verifies a witness's C2SP tlog-cosignature (cosignature/v1, signature type
// 0x04): an Ed25519 signature over "cosignature/v1\ntime <T>\n" followed by the checkpoint text,
// encoded as the 8-byte big-endian timestamp T followed by the 64-byte signature. It is a
// note.Verifier.
//
// golang.org/x/mod/sumdb/note knows only type 0x01, and filippo.io/torchwood v0.6.1 has a
// cosignature signer but no parser for a witness's verifier key, so this small verifier lives
// here; its interoperability is tested against litewitness.
type CosignatureVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// NewCosignatureVerifier decodes a witness verifier key "<name>+<key ID>+<base64(0x04 || Ed25519
// public key)>", as litewitness prints it at start.
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	name, hash, raw, err := parseVKey(vkey)
	if err != nil {
		return nil, err
	}
	if len(raw) != 1+ed25519.PublicKeySize || string(raw[:1]) != typeCosignature {
		return nil, fmt.Errorf("%w: not a cosignature/v1 (Ed25519) witness key", ErrKey)
	}
	if keyID(name, typeCosignature, raw[1:]) != hash {
		return nil, fmt.Errorf("%w: witness key ID does not match", ErrKey)
	}
	return &CosignatureVerifier{name: name, hash: hash, pub: ed25519.PublicKey(raw[1:])}, nil
}

// Name returns the witness's name.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash returns the key ID.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.hash }

// String returns the verifier key.
func (v *CosignatureVerifier) String() string {
	return fmt.Sprintf("%s+%08x+%s", v.name, v.hash,
		base64.StdEncoding.EncodeToString(append([]byte(typeCosignature), v.pub...)))
}

// Verify reports whether sig (timestamp || Ed25519 signature) is a cosignature of the checkpoint
// text msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > math.MaxInt64 {
		return false
	}
	if _, err := ParseText(msg); err != nil {
		return false // a cosignature is only ever over a checkpoint
	}
	return ed25519.Verify(v.pub, cosignedMessage(t, msg), sig[8:])
}

func cosignedMessage(t uint64, text []byte) []byte {
	m := append([]byte("cosignature/v1\ntime "), strconv.FormatUint(t, 10)...)
	return append(append(m, '\n'), text...)
}

// Cosignature is a verified witness cosignature.
type Cosignature struct {
	Witness string // the witness's name
	KeyHash uint32
	Time    time.Time // when the witness cosigned (its own clock)
}

// cosignatureTime decodes the timestamp of a verified cosignature (key ID, then 8 bytes).
func cosignatureTime(b64 string) time.Time {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < 12 {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(raw[4:])), 0).UTC()
}
