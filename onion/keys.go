package onion

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
)

// b32 is base32 as tor writes onion addresses and x25519 client-authorization keys: RFC 4648 alphabet,
// no padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// onionVersion is the version byte of v3 onion addresses.
const onionVersion = 3

// GenerateKey returns a new onion service identity key. The caller persists it (Candor keeps it in the
// store): the service's address is derived from it and stays the same as long as the key does.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("onion: generate key: %w", err)
	}
	return priv, nil
}

// AddressOf returns the v3 onion address ("<56 lowercase base32 characters>.onion") of the service whose
// identity key is pub, as rend-spec-v3 §6 defines it: base32(pub ‖ checksum[:2] ‖ 0x03), where checksum is
// SHA3-256(".onion checksum" ‖ pub ‖ 0x03). It panics if pub is not 32 bytes long.
func AddressOf(pub ed25519.PublicKey) string {
	if len(pub) != ed25519.PublicKeySize {
		panic("onion: AddressOf: bad public key length")
	}
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{onionVersion})
	sum := h.Sum(nil)
	raw := append(append(append([]byte(nil), pub...), sum[:2]...), onionVersion)
	return strings.ToLower(b32.EncodeToString(raw)) + ".onion"
}

// serviceID is an onion address without ".onion", as the control protocol writes it.
func serviceID(addr string) string { return strings.TrimSuffix(addr, ".onion") }

// torKeyBlob returns key in the form ADD_ONION takes for ED25519-V3: base64 of tor's 64-byte expanded
// secret key (the clamped SHA-512 of the seed, then the second half of the hash).
func torKeyBlob(key ed25519.PrivateKey) string {
	digest := sha512.Sum512(key.Seed())
	defer clear(digest[:])
	digest[0] &= 248
	digest[31] &= 127
	digest[31] |= 64
	return base64.StdEncoding.EncodeToString(digest[:])
}

// NewClientAuthKey returns a new v3 client-authorization key pair, both halves x25519 keys in base32
// without padding as tor writes them. The public half goes into Config.ClientAuth (the service side);
// the private half goes to the reviewer, in the line ClientAuthLine builds.
func NewClientAuthKey() (public, private string, err error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("onion: generate client-auth key: %w", err)
	}
	return b32.EncodeToString(k.PublicKey().Bytes()), b32.EncodeToString(k.Bytes()), nil
}

// ClientAuthLine returns the line a reviewer's tor needs in a file "<name>.auth_private" of its
// ClientOnionAuthDir to reach the restricted service onionAddr (with or without ".onion"):
// "<address-without-.onion>:descriptor:x25519:<private>".
func ClientAuthLine(onionAddr, private string) string {
	return serviceID(onionAddr) + ":descriptor:x25519:" + private
}

// checkClientAuthKey reports whether k is a base32 x25519 public key. The error does not repeat the key.
func checkClientAuthKey(k string) error {
	b, err := b32.DecodeString(strings.ToUpper(k))
	if err != nil || len(b) != 32 {
		return ErrClientAuthKey
	}
	if _, err := ecdh.X25519().NewPublicKey(b); err != nil {
		return ErrClientAuthKey
	}
	return nil
}
