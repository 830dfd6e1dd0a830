package installation

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
	"candor/internal/checkpoint"
	"candor/internal/day"
	"candor/internal/leaf"
	"candor/internal/logentry"
	"candor/onion/onionkey"
	"candor/server/store"
)

// Meta keys under which Init stores the installation's keys and settings.
const (
	MetaSalt           = "server.salt"            // 32 random bytes: the receipt derivation salt
	MetaKDF            = "server.kdf"             // crypto.KDFParams as JSON
	MetaSigningKey     = "server.signing-key"     // crypto.SigningKey binary encoding (checkpoints)
	MetaInstallation   = "server.installation-id" // 16 random bytes, hex: tells installations apart
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
		if err := PutReviewer(st, c, today); err != nil {
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
	origin, err := checkpoint.EpochOrigin(sk.Public().Bytes()[:ed25519.PublicKeySize], 1)
	if err != nil {
		return err
	}
	if err := st.SetLogOrigin(origin); err != nil {
		return err
	}
	pub, err := onionkey.GenerateKey()
	if err != nil {
		return err
	}
	restricted, err := onionkey.GenerateKey()
	if err != nil {
		return err
	}
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
	return c.Fingerprint(), PutReviewer(st, c, today)
}

// PutReviewer registers the reviewer of card c with a new addressing key (internal/leaf: the
// leaves addressed to the reviewer carry tags made with it; bundles deliver it sealed to the
// reviewer's age recipient) and logs a ReviewerAdded entry in the same transaction.
func PutReviewer(st *store.Store, c *crypto.Card, today day.Day) error {
	m := c.Marshal()
	e, err := (&logentry.Entry{Type: logentry.ReviewerAdded, Day: today, Actor: "admin",
		Subject: sha256.Sum256(m)}).Marshal()
	if err != nil {
		return err
	}
	key, err := leaf.GenerateAddressingKey(rand.Reader)
	if err != nil {
		return err
	}
	_, err = st.PutReviewer(&store.Reviewer{Fingerprint: c.Fingerprint(), Card: m, Added: today,
		AddressingKey: key.Bytes()}, [][]byte{e})
	return err
}

// OnionKeys returns the identity keys of the public and the restricted onion service.
func OnionKeys(st *store.Store) (public, restricted ed25519.PrivateKey, err error) {
	public, err = OnionKey(st, MetaOnionPublic)
	if err != nil {
		return nil, nil, err
	}
	restricted, err = OnionKey(st, MetaOnionRestrict)
	return public, restricted, err
}

func OnionKey(st *store.Store, key string) (ed25519.PrivateKey, error) {
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

// Keys are the secrets New loads from the store.
type Keys struct {
	Salt   []byte
	KDF    crypto.KDFParams
	Signer *crypto.SigningKey
	// Origin is the case log's origin (checkpoint.EpochOrigin of the signing key's Ed25519 half
	// and the log's epoch), Epoch that epoch.
	Origin string
	Epoch  int
	// Log signs the log's checkpoint notes: the signing key's two halves as note keys named
	// Origin, so an inbox that pinned the server key knows the log key.
	Log *checkpoint.Signer
}

func LoadKeys(st *store.Store) (*Keys, error) {
	salt, err := st.Meta(MetaSalt)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInitialised
	}
	if err != nil {
		return nil, err
	}
	var k Keys
	k.Salt = salt
	b, err := st.Meta(MetaKDF)
	if err != nil {
		return nil, fmt.Errorf("kdf parameters: %w", err)
	}
	if err := json.Unmarshal(b, &k.KDF); err != nil {
		return nil, fmt.Errorf("kdf parameters: %w", store.ErrCorrupt)
	}
	b, err = st.Meta(MetaSigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if k.Signer, err = crypto.ParseSigningKey(b); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if k.Origin, err = st.LogOrigin(); err != nil || k.Origin == "" {
		return nil, fmt.Errorf("the case log has no origin: %w", store.ErrCorrupt)
	}
	if _, k.Epoch, err = checkpoint.ParseEpochOrigin(k.Origin); err != nil {
		return nil, fmt.Errorf("the case log's origin: %w", err)
	}
	if k.Log, err = LogSigner(k.Signer, k.Origin); err != nil {
		return nil, err
	}
	return &k, nil
}

// ServerKeyFingerprint returns the fingerprint of the server's signing key
// (crypto.VerifyKey.Fingerprint): what the admin gives each reviewer with their token, and what a
// reviewer's inbox compares on its first import.
func ServerKeyFingerprint(st *store.Store) (string, error) {
	k, err := LoadKeys(st)
	if err != nil {
		return "", err
	}
	return k.Signer.Public().Fingerprint(), nil
}

// LogSigner returns the checkpoint-note signer of the log named origin with sk's two halves.
func LogSigner(sk *crypto.SigningKey, origin string) (*checkpoint.Signer, error) {
	seed, _ := sk.MarshalBinary()
	defer clear(seed)
	return checkpoint.NewSignerFromSeeds(origin, (*[32]byte)(seed[:32]), (*[32]byte)(seed[32:]))
}
