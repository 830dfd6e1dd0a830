// Package inbox is the reviewer's offline inbox: it imports the bundles that `candor sync pull`
// downloads, verifies them, keeps their ciphertext, decrypts on demand, and writes signed
// envelopes (replies, status changes, holds, acknowledgements) into an outbox file that
// `candor sync push` carries back.
//
// An inbox lives in one directory (its home):
//
//	identity.age   the reviewer's age hybrid identity, as a standard age identity file encrypted
//	               with a passphrase (the stock `age -d -i identity.age` uses it)
//	signing.age    the reviewer's hybrid signing key, encrypted with the same passphrase
//	card.txt       the reviewer's public card (give it to the admin)
//	inbox.db       bbolt: cases, blob metadata, checkpoints, the case log seen, pending envelopes,
//	               and blobs of at most 64 KiB (ciphertext only)
//	blobs/ID.age   one standard age file per larger blob (ciphertext only)
//
// Import verifies a bundle completely before it stores anything: the server's signature under the
// key pinned on the first import, every log entry's inclusion proof, and the consistency of the
// bundle's checkpoint with every checkpoint the inbox has kept. A rewritten or forked log is
// refused with ErrRewrite or ErrFork; a case that vanished from the server without a logged
// deletion is reported in ImportResult.Missing and marked in List. Every reply must carry its
// author's envelope signature, checked with the author's card (found by fingerprint): a reply the
// server invented or attributed to another reviewer is refused with ErrForged.
//
// Nothing here touches a network: the package links no networking code (a test enforces it).
// No error contains a passphrase, key or plaintext.
package inbox

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/crypto"
	"candor/internal/atomicfile"
	"candor/internal/day"
)

// Errors returned by the inbox. Errors wrap one of these with details (test with errors.Is).
var (
	ErrNotInitialised = errors.New("inbox: not initialised (run candor-inbox init)")
	ErrExists         = errors.New("inbox: already initialised")
	ErrPassphrase     = errors.New("inbox: wrong passphrase")
	ErrOtherServer    = errors.New("inbox: bundle signed by another server than the one this inbox trusts")
	ErrOtherReviewer  = errors.New("inbox: bundle made for another reviewer")
	// ErrServerUnconfirmed: the first import of an inbox, with no server key fingerprint confirmed
	// (TrustServer). The error is an *UnconfirmedServerError that names the bundle's key.
	ErrServerUnconfirmed = errors.New("inbox: first import: confirm the server key's fingerprint first")
	ErrRewrite           = errors.New("inbox: the server's case log was rewritten")
	ErrFork              = errors.New("inbox: the server's case log forked")
	ErrNoProof           = errors.New("inbox: bundle lacks a consistency proof from this inbox's checkpoint")
	ErrBadBundle         = errors.New("inbox: bundle does not verify")
	ErrNoCase            = errors.New("inbox: no such case")
	ErrAmbiguous         = errors.New("inbox: case prefix matches more than one case")
	ErrFileExists        = errors.New("inbox: file exists")
	ErrNoCard            = errors.New("inbox: no card for a reviewer of the case")
	// ErrWeakPassphrase: Init was given a passphrase shorter than MinPassphraseLen characters.
	ErrWeakPassphrase = fmt.Errorf("inbox: the passphrase is too short: use at least %d characters", MinPassphraseLen)
	// ErrOutbox: the file given to Import is an outbox (what candor-inbox outbox writes), not a
	// bundle (what candor sync pull writes).
	ErrOutbox = errors.New("inbox: this is an outbox, not a bundle: push it with candor sync push")
	// ErrForged: a reply, status change or hold in the bundle is not signed by the reviewer it
	// names (signature missing or invalid, or no card of that fingerprint), or a case's status or
	// holds are not what the reviewers' signed changes say: the server invented or altered them.
	ErrForged = errors.New("inbox: FORGED: a reply, status or hold in the bundle is not signed by the reviewer it names")
)

// MinPassphraseLen is the shortest passphrase, in characters, that Init accepts: the passphrase
// is all that protects the keys of a stolen inbox.
const MinPassphraseLen = 10

// File names under the home directory.
const (
	IdentityFile = "identity.age"
	SigningFile  = "signing.age"
	CardFile     = "card.txt"
	DBFile       = "inbox.db"
	BlobDir      = "blobs"
)

// Config configures Init and Open.
type Config struct {
	// Home is the inbox directory.
	Home string
	// Passphrase returns the passphrase; it is called only when a secret key is needed.
	Passphrase func() ([]byte, error)
	// Now returns the current time (default time.Now); only its UTC day is used.
	Now func() time.Time
	// Progress, if set, receives progress lines of long imports and exports.
	Progress io.Writer
	// WorkFactor is the scrypt work factor (log2) Init protects the keys with; 0 means age's
	// default (18). Tests lower it.
	WorkFactor int
}

// Inbox is an open inbox. It is not safe for concurrent use by several processes (bbolt locks the
// file); its methods may be called from one goroutine at a time.
type Inbox struct {
	cfg Config
	db  *bolt.DB
	fp  string
	// keys holds the decrypted key files by name between Unlock and Lock (desk_api.go); nil
	// otherwise, and always for candor-inbox, which asks for the passphrase instead.
	keys map[string][]byte
}

func (c *Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Config) today() day.Day { return day.FromTime(c.now()) }

// Init creates a new inbox in cfg.Home (created if missing; it must not hold an inbox): a hybrid
// age identity and a signing key, both encrypted with the passphrase (at least MinPassphraseLen
// characters, else ErrWeakPassphrase), and the card for name.
// It returns the card.
func Init(cfg Config, name string, pass []byte) (*crypto.Card, error) {
	if utf8.RuneCount(pass) < MinPassphraseLen {
		return nil, ErrWeakPassphrase
	}
	if _, err := os.Stat(filepath.Join(cfg.Home, IdentityFile)); err == nil {
		return nil, ErrExists
	}
	if err := os.MkdirAll(filepath.Join(cfg.Home, BlobDir), 0o700); err != nil {
		return nil, err
	}
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, err
	}
	sk, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	card, err := crypto.NewCard(name, id.Recipient().String(), sk)
	if err != nil {
		return nil, err
	}
	idText := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n",
		cfg.now().UTC().Format(time.RFC3339), id.Recipient(), id)
	skb, _ := sk.MarshalBinary()
	files := []struct {
		name string
		data []byte
		enc  bool
	}{{SigningFile, skb, true}, {CardFile, card.Marshal(), false}, {IdentityFile, []byte(idText), true}}
	for _, f := range files {
		data := f.data
		if f.enc {
			if data, err = encryptWithPassphrase(data, pass, cfg.WorkFactor); err != nil {
				return nil, err
			}
		}
		if err := atomicfile.WriteFile(filepath.Join(cfg.Home, f.name), data, 0o600); err != nil {
			return nil, err
		}
	}
	in, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	return card, in.Close()
}

// Open opens the inbox in cfg.Home.
func Open(cfg Config) (*Inbox, error) {
	b, err := os.ReadFile(filepath.Join(cfg.Home, CardFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotInitialised
	}
	if err != nil {
		return nil, err
	}
	card, err := crypto.ParseCard(b)
	if err != nil {
		return nil, fmt.Errorf("inbox: %s: %w", CardFile, err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Home, BlobDir), 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(cfg.Home, DBFile), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("inbox: opening %s: %w", DBFile, err)
	}
	in := &Inbox{cfg: cfg, db: db, fp: card.Fingerprint()}
	if err := in.createBuckets(); err != nil {
		db.Close()
		return nil, err
	}
	return in, nil
}

// Close closes the inbox database.
func (in *Inbox) Close() error { return in.db.Close() }

// Fingerprint returns the fingerprint of this reviewer's card.
func (in *Inbox) Fingerprint() string { return in.fp }

// Card returns this reviewer's public card.
func (in *Inbox) Card() (*crypto.Card, error) {
	b, err := os.ReadFile(filepath.Join(in.cfg.Home, CardFile))
	if err != nil {
		return nil, err
	}
	return crypto.ParseCard(b)
}

// Identity decrypts the reviewer's age identity with the passphrase.
func (in *Inbox) Identity() (*age.HybridIdentity, error) {
	b, err := in.decryptKeyFile(IdentityFile)
	if err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(bytesReader(b))
	if err != nil || len(ids) != 1 {
		return nil, fmt.Errorf("inbox: %s does not hold one identity", IdentityFile)
	}
	id, ok := ids[0].(*age.HybridIdentity)
	if !ok {
		return nil, fmt.Errorf("inbox: %s does not hold a hybrid identity", IdentityFile)
	}
	return id, nil
}

// signingKey decrypts the reviewer's signing key with the passphrase.
func (in *Inbox) signingKey() (*crypto.SigningKey, error) {
	b, err := in.decryptKeyFile(SigningFile)
	if err != nil {
		return nil, err
	}
	return crypto.ParseSigningKey(b)
}

func (in *Inbox) decryptKeyFile(name string) ([]byte, error) {
	if b, ok := in.keys[name]; ok {
		return bytes.Clone(b), nil
	}
	if in.cfg.Passphrase == nil {
		return nil, errors.New("inbox: no passphrase source")
	}
	pass, err := in.cfg.Passphrase()
	if err != nil {
		return nil, err
	}
	enc, err := os.ReadFile(filepath.Join(in.cfg.Home, name))
	if err != nil {
		return nil, err
	}
	return decryptWithPassphrase(enc, pass)
}

func encryptWithPassphrase(data, pass []byte, workFactor int) ([]byte, error) {
	r, err := age.NewScryptRecipient(string(pass))
	if err != nil {
		return nil, err
	}
	if workFactor > 0 {
		r.SetWorkFactor(workFactor)
	}
	var buf bytesBuffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decryptWithPassphrase(enc, pass []byte) ([]byte, error) {
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return nil, ErrPassphrase
	}
	r, err := age.Decrypt(bytesReader(enc), id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrPassphrase
		}
		return nil, fmt.Errorf("inbox: key file: %w", err)
	}
	return io.ReadAll(r)
}
