package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"candor/crypto"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

// Meta keys under which Init stores the installation's keys and settings.
const (
	MetaSalt           = "server.salt"            // 32 random bytes: the receipt derivation salt
	MetaKDF            = "server.kdf"             // crypto.KDFParams as JSON
	MetaSigningKey     = "server.signing-key"     // crypto.SigningKey binary encoding (checkpoints)
	MetaInstallation   = "server.installation-id" // 16 random bytes, hex: the log's origin
	MetaOnionPublic    = "onion.public-key"       // ed25519 private key (64 bytes) of the public service
	MetaOnionRestrict  = "onion.restricted-key"   // ed25519 private key of the restricted service
	MetaSettings       = "server.settings"        // Settings as JSON
	installationIDSize = 16
	saltSize           = 32
)

// Errors of Init and New.
var (
	// ErrInitialised: Init was called on a store that already holds an installation.
	ErrInitialised = errors.New("store is already initialised")
	// ErrNotInitialised: New or OnionKeys was called on a store without an installation.
	ErrNotInitialised = errors.New("store is not initialised (run candor init)")
)

// InitOptions configures Init.
type InitOptions struct {
	// Reviewers are reviewer cards (crypto.Card text) to register.
	Reviewers [][]byte
	// KDF are the receipt derivation parameters; zero means crypto.DefaultKDFParams.
	KDF crypto.KDFParams
	// Settings are the initial settings; nil means DefaultSettings.
	Settings *Settings
	// Now gives the day of the log entries; nil means time.Now.
	Now func() time.Time
}

// Init creates a new installation in st: the installation salt, the KDF parameters, the server's
// hybrid signing key, the two onion service keys, the settings and the given reviewers. It refuses
// a store that already has a salt (ErrInitialised). Nothing secret is logged or returned.
func Init(st *store.Store, opts InitOptions) error {
	if _, err := st.Meta(MetaSalt); err == nil {
		return ErrInitialised
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("init: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	today := day.FromTime(now())
	// Reviewers are parsed first so that a bad card leaves the store untouched.
	cards := make([]*crypto.Card, 0, len(opts.Reviewers))
	for i, b := range opts.Reviewers {
		c, err := crypto.ParseCard(b)
		if err != nil {
			return fmt.Errorf("init: reviewer card %d: %w", i+1, err)
		}
		cards = append(cards, c)
	}
	settings := DefaultSettings()
	if opts.Settings != nil {
		settings = *opts.Settings
	}
	if err := settings.Validate(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := initKeys(st, opts.KDF); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := SaveSettings(st, settings, today); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	for _, c := range cards {
		if err := putReviewer(st, c, today); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	// The salt goes last: its presence marks a complete installation.
	salt := make([]byte, saltSize)
	rand.Read(salt)
	return st.PutMeta(MetaSalt, salt)
}

func initKeys(st *store.Store, kdf crypto.KDFParams) error {
	if kdf == (crypto.KDFParams{}) {
		kdf = crypto.DefaultKDFParams()
	}
	if _, err := crypto.NewDeriver(make([]byte, saltSize), kdf, 1); err != nil {
		return err
	}
	kdfJSON, _ := json.Marshal(kdf)
	sk, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		return err
	}
	skb, _ := sk.MarshalBinary()
	_, pub, _ := ed25519.GenerateKey(rand.Reader)
	_, restricted, _ := ed25519.GenerateKey(rand.Reader)
	id := make([]byte, installationIDSize)
	rand.Read(id)
	for _, kv := range []struct {
		k string
		v []byte
	}{
		{MetaKDF, kdfJSON}, {MetaSigningKey, skb}, {MetaInstallation, []byte(hex.EncodeToString(id))},
		{MetaOnionPublic, pub}, {MetaOnionRestrict, restricted},
	} {
		if err := st.PutMeta(kv.k, kv.v); err != nil {
			return err
		}
	}
	return nil
}

// AddReviewer registers the reviewer whose card is card (text, self-signature verified) and logs a
// ReviewerAdded entry in the same transaction. It returns the reviewer's fingerprint.
func AddReviewer(st *store.Store, card []byte, today day.Day) (string, error) {
	c, err := crypto.ParseCard(card)
	if err != nil {
		return "", err
	}
	return c.Fingerprint(), putReviewer(st, c, today)
}

func putReviewer(st *store.Store, c *crypto.Card, today day.Day) error {
	m := c.Marshal()
	e, err := (&logentry.Entry{Type: logentry.ReviewerAdded, Day: today, Actor: "admin",
		Subject: sha256.Sum256(m)}).Marshal()
	if err != nil {
		return err
	}
	_, err = st.PutReviewer(&store.Reviewer{Fingerprint: c.Fingerprint(), Card: m, Added: today}, [][]byte{e})
	return err
}

// OnionKeys returns the identity keys of the public and the restricted onion service.
func OnionKeys(st *store.Store) (public, restricted ed25519.PrivateKey, err error) {
	public, err = onionKey(st, MetaOnionPublic)
	if err != nil {
		return nil, nil, err
	}
	restricted, err = onionKey(st, MetaOnionRestrict)
	return public, restricted, err
}

func onionKey(st *store.Store, key string) (ed25519.PrivateKey, error) {
	b, err := st.Meta(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInitialised
	}
	if err != nil {
		return nil, err
	}
	if len(b) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("onion key %s: %w", key, store.ErrCorrupt)
	}
	return ed25519.PrivateKey(b), nil
}

// ClientAuthKeys returns the onion client-authorisation public keys of every reviewer that has one,
// for the restricted service.
func ClientAuthKeys(st *store.Store) ([]string, error) {
	rs, err := st.Reviewers()
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, r := range rs {
		if r.ClientAuthPub != "" {
			keys = append(keys, r.ClientAuthPub)
		}
	}
	return keys, nil
}

// keys are the secrets New loads from the store.
type keys struct {
	salt   []byte
	kdf    crypto.KDFParams
	signer *crypto.SigningKey
	origin string
}

func loadKeys(st *store.Store) (*keys, error) {
	salt, err := st.Meta(MetaSalt)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInitialised
	}
	if err != nil {
		return nil, err
	}
	var k keys
	k.salt = salt
	b, err := st.Meta(MetaKDF)
	if err != nil {
		return nil, fmt.Errorf("kdf parameters: %w", err)
	}
	if err := json.Unmarshal(b, &k.kdf); err != nil {
		return nil, fmt.Errorf("kdf parameters: %w", store.ErrCorrupt)
	}
	b, err = st.Meta(MetaSigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if k.signer, err = crypto.ParseSigningKey(b); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	id, err := st.Meta(MetaInstallation)
	if err != nil {
		return nil, fmt.Errorf("installation id: %w", err)
	}
	k.origin = "candor:" + string(id)
	return &k, nil
}
