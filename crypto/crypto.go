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
	ErrInvalidFingerprint = errors.New("invalid card fingerprint")
)
