package server

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"candor/crypto"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

// Admin performs the admin actions of DESIGN §10 on an open store: reviewers, sync tokens,
// settings, status and backups. Each action that changes something is recorded in the case log in
// the same transaction as the change (or, for a backup, before the snapshot is taken, so the backup
// holds its own entry). Nothing an Admin returns or logs contains report content: admins can never
// read it.
//
// The same Admin serves the command line (when no server runs) and the control socket of a running
// server (ServeControl). Its methods are safe for concurrent use.
type Admin struct {
	st              *store.Store
	dataDir         string
	now             func() time.Time
	changed         func(clientAuth []string)
	settingsChanged func()
	mu              sync.Mutex // serialises read-check-write actions (duplicate reviewer, token issue)
}

// AdminConfig configures NewAdmin.
type AdminConfig struct {
	// Store is the installation's store (required, initialised by Init).
	Store *store.Store
	// DataDir is the data directory (candor --data); Status reads the heartbeat from it. Empty: no
	// heartbeat is read.
	DataDir string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// OnReviewersChanged, if set, is called with the client-authorisation public keys of every
	// reviewer after a reviewer is added or removed or a token is issued, so a running server can
	// update its restricted onion service (onion.Service.SetClientAuth). It must not call the Admin.
	OnReviewersChanged func(clientAuth []string)
	// OnSettingsChanged, if set, is called after new settings are stored, so a running server can
	// reload them (Server.ReloadSettings). It must not call the Admin.
	OnSettingsChanged func()
}

// Errors of the admin actions. They never contain a token, a key or content.
var (
	// ErrReviewerExists: AddReviewer was given a card whose fingerprint is already registered.
	ErrReviewerExists = errors.New("reviewer is already registered")
	// ErrUnknownReviewer: no registered reviewer has the given fingerprint.
	ErrUnknownReviewer = errors.New("no reviewer with this fingerprint")
	// ErrNoBackupRecipient: Backup was called without recipients and none are configured.
	ErrNoBackupRecipient = errors.New("no backup recipient configured")
)

// MetaBackupRecipients is the meta key of the configured backup recipients (JSON list of age1pq1…).
const MetaBackupRecipients = "admin.backup-recipients"

// NewAdmin returns an Admin for an initialised store (ErrNotInitialised otherwise).
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	if cfg.Store == nil {
		return nil, errors.New("admin: no store")
	}
	if _, err := cfg.Store.Meta(MetaSalt); errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInitialised
	} else if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	a := &Admin{st: cfg.Store, dataDir: cfg.DataDir, now: cfg.Now, changed: cfg.OnReviewersChanged,
		settingsChanged: cfg.OnSettingsChanged}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

func (a *Admin) today() day.Day { return day.FromTime(a.now()) }

// ReviewerInfo describes a registered reviewer: public facts only.
type ReviewerInfo struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	Added       string `json:"added"`       // day registered, YYYY-MM-DD
	Token       bool   `json:"token"`       // a sync token has been issued
	ClientAuth  bool   `json:"client_auth"` // an onion client-authorisation key is registered
}

// AddReviewer registers the reviewer whose card (text) is given, after verifying its
// self-signature; the card's recipient is necessarily a hybrid post-quantum one. A card whose
// fingerprint is already registered fails with ErrReviewerExists. It logs a ReviewerAdded entry
// whose Subject is the SHA-256 of the card.
func (a *Admin) AddReviewer(card []byte) (ReviewerInfo, error) {
	c, err := crypto.ParseCard(card)
	if err != nil {
		return ReviewerInfo{}, fmt.Errorf("reviewer card: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.st.Reviewer(c.Fingerprint()); err == nil {
		return ReviewerInfo{}, fmt.Errorf("%w: %s (%s)", ErrReviewerExists, c.Fingerprint(), c.Name())
	} else if !errors.Is(err, store.ErrNotFound) {
		return ReviewerInfo{}, err
	}
	if err := putReviewer(a.st, c, a.today()); err != nil {
		return ReviewerInfo{}, err
	}
	a.notify()
	return ReviewerInfo{Name: c.Name(), Fingerprint: c.Fingerprint(), Added: a.today().String()}, nil
}

// RemoveReviewer unregisters the reviewer with fingerprint fp (any spelling ParseFingerprint
// accepts) and logs a ReviewerRemoved entry. Their sync token and client key stop working at once.
// Cases already encrypted to them stay so: removal cannot take back what they could read, it only
// stops new reports and replies from being encrypted to them.
func (a *Admin) RemoveReviewer(fp string) (ReviewerInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.reviewer(fp)
	if err != nil {
		return ReviewerInfo{}, err
	}
	e, err := (&logentry.Entry{Type: logentry.ReviewerRemoved, Day: a.today(), Actor: "admin",
		Subject: sha256.Sum256(r.Card)}).Marshal()
	if err != nil {
		return ReviewerInfo{}, err
	}
	if _, err := a.st.DeleteReviewer(r.Fingerprint, [][]byte{e}); err != nil {
		return ReviewerInfo{}, err
	}
	a.notify()
	return reviewerInfo(r), nil
}

// reviewer finds a registered reviewer by fingerprint.
func (a *Admin) reviewer(fp string) (*store.Reviewer, error) {
	canon, err := crypto.ParseFingerprint(fp)
	if err != nil {
		return nil, err
	}
	r, err := a.st.Reviewer(canon)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownReviewer, canon)
	}
	return r, err
}

// Reviewers lists the registered reviewers in fingerprint order.
func (a *Admin) Reviewers() ([]ReviewerInfo, error) {
	rs, err := a.st.Reviewers()
	if err != nil {
		return nil, err
	}
	out := make([]ReviewerInfo, 0, len(rs))
	for _, r := range rs {
		out = append(out, reviewerInfo(r))
	}
	return out, nil
}

func reviewerInfo(r *store.Reviewer) ReviewerInfo {
	info := ReviewerInfo{Fingerprint: r.Fingerprint, Added: r.Added.String(), Token: r.TokenHash != [32]byte{},
		ClientAuth: r.ClientAuthPub != ""}
	if c, err := crypto.ParseCard(r.Card); err == nil {
		info.Name = c.Name()
	}
	return info
}

// Token is a reviewer's transport credential, shown once: the sync token (bearer) and the line for
// the reviewer's tor ClientOnionAuthDir. The server keeps only the token's SHA-256 and the public
// half of the client key.
type Token struct {
	Token      string `json:"token"`
	ClientAuth string `json:"client_auth"`
}

// String redacts the token so that it cannot be printed by accident; use the fields.
func (Token) String() string { return "[token redacted]" }

// IssueToken gives the reviewer with fingerprint fp a new sync token (32 random bytes, base64url)
// and a new x25519 onion client-authorisation key pair, replacing (revoking) earlier ones. The
// answer is the only copy of both secrets.
func (a *Admin) IssueToken(fp string) (Token, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.reviewer(fp)
	if err != nil {
		return Token{}, err
	}
	restricted, err := onionKey(a.st, MetaOnionRestrict)
	if err != nil {
		return Token{}, err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return Token{}, fmt.Errorf("client-auth key: %w", err)
	}
	_, err = a.st.UpdateReviewer(r.Fingerprint, func(r *store.Reviewer) error {
		r.TokenHash = sha256.Sum256([]byte(token))
		r.ClientAuthPub = torBase32.EncodeToString(key.PublicKey().Bytes())
		return nil
	}, nil)
	if err != nil {
		return Token{}, err
	}
	a.notify()
	addr := OnionAddress(restricted.Public().(ed25519.PublicKey))
	line := strings.TrimSuffix(addr, ".onion") + ":descriptor:x25519:" + torBase32.EncodeToString(key.Bytes())
	return Token{Token: token, ClientAuth: line}, nil
}

// torBase32 is how tor writes x25519 client-authorisation keys: RFC 4648 base32, no padding.
var torBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// OnionAddress returns the v3 onion address ("<56 base32>.onion") of the service whose identity key
// is pub (rend-spec-v3 §6; the same as onion.AddressOf, which server may not import).
func OnionAddress(pub ed25519.PublicKey) string {
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{3})
	sum := h.Sum(nil)
	raw := append(append(append([]byte(nil), pub...), sum[:2]...), 3)
	return strings.ToLower(torBase32.EncodeToString(raw)) + ".onion"
}

// notify tells the running server the new client-authorisation list. Called with a.mu held.
func (a *Admin) notify() {
	if a.changed == nil {
		return
	}
	keys, err := ClientAuthKeys(a.st)
	if err != nil {
		return
	}
	a.changed(keys)
}

// Settings returns the installation's settings (categories and questionnaires).
func (a *Admin) Settings() (Settings, error) { return LoadSettings(a.st) }

// LoadSettings validates a settings file (JSON) and stores it, logging a SettingsChanged entry.
// Errors name what is wrong: the line and column of a syntax error, or the category and field
// that break a rule; they wrap ErrSettings.
func (a *Admin) LoadSettings(file []byte) (Settings, error) {
	if err := jsonSyntax(file); err != nil {
		return Settings{}, err
	}
	s, err := ParseSettings(file)
	if err != nil {
		return Settings{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := SaveSettings(a.st, s, a.today()); err != nil {
		return Settings{}, err
	}
	if a.settingsChanged != nil {
		a.settingsChanged()
	}
	return s, nil
}

// jsonSyntax reports a JSON syntax or type error with its line and column.
func jsonSyntax(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, se.Offset)
		return fmt.Errorf("%w: line %d, column %d: %v", ErrSettings, line, col, se)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSettings, err)
	}
	return nil
}

func lineCol(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off-1 && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
