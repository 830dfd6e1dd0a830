// Package crypto holds Candor's cryptography: receipt codes and the reporter keys derived from
// them, sealing and opening reports with age, hybrid signatures, and reviewer cards.
//
// Everything is built from audited parts — age for encryption, Argon2id for key derivation,
// Ed25519 and ML-DSA-65 for signatures — and this package only fixes how they are combined.
// Every encryption is post-quantum (age's hybrid ML-KEM-768 + X25519 recipients, age1pq1…) and
// every signature is hybrid, valid only if both its classic and its post-quantum halves verify.
//
// # Receipt codes and reporter keys
//
// A reporter's only secret is a receipt code: eight words from the EFF large wordlist (103 bits),
// made by [NewReceipt] and typed back in through [ParseReceipt], which ignores case and accepts
// any spacing or hyphens. A [Deriver] turns a code into a [ReporterKey] with Argon2id under the
// installation's salt:
//
//	d, err := crypto.NewDeriver(salt, crypto.DefaultKDFParams(), 4)
//	key, err := d.Derive(ctx, receipt)
//	// store key.Lookup and key.Recipient() with the case; decrypt replies with key.Identity()
//	defer key.Wipe()
//
// The Argon2id output is split: its first half, hashed, finds the case ([ReporterKey.Lookup]); its
// second half is the seed of an age hybrid identity, so replies to the reporter are ordinary age
// files. At most maxConcurrent derivations run at once.
//
// # Sealing and opening
//
// [Seal] encrypts a stream to hybrid recipients, writing the age header and the encrypted payload
// to different writers, so that a store can keep them apart and destroy a file by deleting its
// header. Joined, header and payload are a standard age file that the stock age CLI decrypts
// ([SplitHeader] splits such a file again). [Open] decrypts. Both stream in constant memory.
// [ParseRecipients] accepts only hybrid recipients and explains what is wrong with anything else.
//
// # Signatures and cards
//
// A [SigningKey] signs under a context string naming the purpose ("candor/card",
// "candor/envelope", "candor/checkpoint", "candor/bundle"); a signature never verifies under
// another context. A reviewer's [Card] is a short self-signed text holding their name, age
// recipient and [VerifyKey]; people compare its [Card.Fingerprint] out of band.
//
// # Secrets
//
// No error returned by this package contains a receipt code, a seed, a key or plaintext, and
// [Receipt], [ReporterKey] and [SigningKey] print as "[… redacted]" with every fmt verb: use
// [Receipt.String] or [SigningKey.MarshalBinary] deliberately where the secret is needed.
package crypto

import "errors"

// Errors returned by this package, wrapped with details; test with [errors.Is]. No error of this
// package includes a receipt code, a seed, a key or plaintext.
var (
	// ErrInvalidReceipt: a receipt code is malformed (unknown word, wrong number of words).
	ErrInvalidReceipt = errors.New("invalid receipt code")
	// ErrKDFParams: key-derivation parameters or salt are below the minimum or malformed.
	ErrKDFParams = errors.New("invalid key-derivation parameters")
	// ErrRecipient: a recipient is not an age hybrid post-quantum recipient.
	ErrRecipient = errors.New("unsupported age recipient")
	// ErrNoRecipients: a list of recipients is empty.
	ErrNoRecipients = errors.New("no age recipients")
	// ErrInvalidHeader: bytes are not exactly one age v1 header.
	ErrInvalidHeader = errors.New("invalid age header")
	// ErrInvalidKey: a signing or verify key encoding is malformed.
	ErrInvalidKey = errors.New("invalid key encoding")
	// ErrSignature: a hybrid signature does not verify.
	ErrSignature = errors.New("invalid signature")
	// ErrInvalidCard: a reviewer card is malformed.
	ErrInvalidCard = errors.New("invalid reviewer card")
	// ErrInvalidFingerprint: a card fingerprint is malformed.
	ErrInvalidFingerprint = errors.New("invalid fingerprint")
)
