package onion

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"

	"candor/onion/onionkey"
)

// serviceID is an onion address without ".onion", as the control protocol writes it.
func serviceID(addr string) string { return onionkey.ServiceID(addr) }

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

// checkClientAuthKey reports whether k is a base32 x25519 public key. The error does not repeat the key.
func checkClientAuthKey(k string) error { return onionkey.CheckClientAuthKey(k) }
