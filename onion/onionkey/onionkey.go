// Package onionkey owns the key material of Candor's onion services without touching tor: v3
// service identity keys, the onion address a key gives, and x25519 client-authorisation keys with
// the line a reviewer's tor needs. It links no tor controller (bine), so the admin side can use it;
// package onion runs the services with the same keys.
package onionkey

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// Encoding is base32 as tor writes onion addresses and x25519 client-authorisation keys: RFC 4648
// alphabet, no padding.
var Encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// version is the version byte of v3 onion addresses.
const version = 3

// ErrClientAuthKey means a client-authorisation key is not a base32 x25519 public key.
var ErrClientAuthKey = errors.New("onion: malformed client-authorization key (want base32 x25519 public key)")

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
	h.Write([]byte{version})
	sum := h.Sum(nil)
	raw := append(append(append([]byte(nil), pub...), sum[:2]...), version)
	return strings.ToLower(Encoding.EncodeToString(raw)) + ".onion"
}

// AddressOfKey is AddressOf of the public half of the identity key priv.
func AddressOfKey(priv ed25519.PrivateKey) string {
	return AddressOf(priv.Public().(ed25519.PublicKey))
}

// ServiceID is an onion address without ".onion", as the control protocol writes it.
func ServiceID(addr string) string { return strings.TrimSuffix(addr, ".onion") }

// NewClientAuthKey returns a new v3 client-authorization key pair, both halves x25519 keys in base32
// without padding as tor writes them. The public half goes to the restricted service; the private
// half goes to the reviewer, in the line ClientAuthLine builds.
func NewClientAuthKey() (public, private string, err error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("onion: generate client-auth key: %w", err)
	}
	return Encoding.EncodeToString(k.PublicKey().Bytes()), Encoding.EncodeToString(k.Bytes()), nil
}

// ClientAuthLine returns the line a reviewer's tor needs in a file "<name>.auth_private" of its
// ClientOnionAuthDir to reach the restricted service onionAddr (with or without ".onion"):
// "<address-without-.onion>:descriptor:x25519:<private>".
func ClientAuthLine(onionAddr, private string) string {
	return ServiceID(onionAddr) + ":descriptor:x25519:" + private
}

// CheckClientAuthKey reports whether k is a base32 x25519 public key (ErrClientAuthKey if not). The
// error does not repeat the key.
func CheckClientAuthKey(k string) error {
	b, err := Encoding.DecodeString(strings.ToUpper(k))
	if err != nil || len(b) != 32 {
		return ErrClientAuthKey
	}
	if _, err := ecdh.X25519().NewPublicKey(b); err != nil {
		return ErrClientAuthKey
	}
	return nil
}
