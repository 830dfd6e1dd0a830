package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"candor/crypto"
	"candor/installation"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/onion/onionkey"
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
	submissions     func() map[day.Day]int // a running server's submission counts; nil: the store's
	mu              sync.Mutex             // serialises read-check-write actions (duplicate reviewer, token issue)
}

// AdminConfig configures NewAdmin.
type Config struct {
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
	// SubmissionCounts, if set, returns the submissions per day a running server counted
	// (server.SubmissionCounts), for Status's unusual-rate signal; nil counts the store's cases.
	SubmissionCounts func() map[day.Day]int
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
func New(cfg Config) (*Admin, error) {
	if cfg.Store == nil {
		return nil, errors.New("admin: no store")
	}
	if _, err := cfg.Store.Meta(installation.MetaSalt); errors.Is(err, store.ErrNotFound) {
		return nil, installation.ErrNotInitialised
	} else if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	a := &Admin{st: cfg.Store, dataDir: cfg.DataDir, now: cfg.Now, changed: cfg.OnReviewersChanged,
		settingsChanged: cfg.OnSettingsChanged, submissions: cfg.SubmissionCounts}
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
	// Orphaned (RemoveReviewer only): cases left with no registered reviewer who can read them.
	Orphaned int `json:"orphaned,omitempty"`
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
	if err := installation.PutReviewer(a.st, c, a.today()); err != nil {
		return ReviewerInfo{}, err
	}
	a.notify()
	return ReviewerInfo{Name: c.Name(), Fingerprint: c.Fingerprint(), Added: a.today().String()}, nil
}

// RemoveReviewer unregisters the reviewer with fingerprint fp (any spelling ParseFingerprint
// accepts) and logs a ReviewerRemoved entry. Their sync token and client key stop working at once.
// Cases already encrypted to them stay so: removal cannot take back what they could read, it only
// stops new reports and replies from being encrypted to them. If the removal would leave cases
// that no other registered reviewer can read, it fails with ErrWouldOrphan unless force; the
// info's Orphaned says how many cases were left without a reader.
func (a *Admin) RemoveReviewer(fp string, force bool) (ReviewerInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.reviewer(fp)
	if err != nil {
		return ReviewerInfo{}, err
	}
	orphaned, err := a.checkOrphans(r.Fingerprint, force)
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
	info := reviewerInfo(r)
	info.Orphaned = orphaned
	return info, nil
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
	// ServerKey is the server key's fingerprint (not secret): the reviewer's inbox accepts its
	// first bundle only from the key with this fingerprint.
	ServerKey string `json:"server_key"`
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
	restricted, err := installation.OnionKey(a.st, installation.MetaOnionRestrict)
	if err != nil {
		return Token{}, err
	}
	serverKey, err := installation.ServerKeyFingerprint(a.st)
	if err != nil {
		return Token{}, err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	pub, priv, err := onionkey.NewClientAuthKey()
	if err != nil {
		return Token{}, err
	}
	// Issuing a token is logged: whoever holds it can push as the reviewer, so the reviewers see
	// in the log (and in their inbox) when and for whom one was issued.
	e, err := (&logentry.Entry{Type: logentry.TokenIssued, Day: a.today(), Actor: "admin",
		Subject: sha256.Sum256(r.Card)}).Marshal()
	if err != nil {
		return Token{}, err
	}
	_, err = a.st.UpdateReviewer(r.Fingerprint, func(r *store.Reviewer) error {
		r.TokenHash = sha256.Sum256([]byte(token))
		r.ClientAuthPub = pub
		return nil
	}, [][]byte{e})
	if err != nil {
		return Token{}, err
	}
	a.notify()
	line := onionkey.ClientAuthLine(onionkey.AddressOfKey(restricted), priv)
	return Token{Token: token, ClientAuth: line, ServerKey: serverKey}, nil
}

// notify tells the running server the new client-authorisation list. Called with a.mu held.
func (a *Admin) notify() {
	if a.changed == nil {
		return
	}
	keys, err := installation.ClientAuthKeys(a.st)
	if err != nil {
		return
	}
	a.changed(keys)
}

// Settings returns the installation's settings (categories and questionnaires).
func (a *Admin) Settings() (installation.Settings, error) { return installation.LoadSettings(a.st) }

// LoadSettings validates a settings file (JSON) and stores it, logging a SettingsChanged entry.
// Errors name what is wrong: the line and column of a syntax error, or the category and field
// that break a rule; they wrap ErrSettings.
func (a *Admin) LoadSettings(file []byte) (installation.Settings, error) {
	if err := jsonSyntax(file); err != nil {
		return installation.Settings{}, err
	}
	s, err := installation.ParseSettings(file)
	if err != nil {
		return installation.Settings{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := installation.SaveSettings(a.st, s, a.today()); err != nil {
		return installation.Settings{}, err
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
		return fmt.Errorf("%w: line %d, column %d: %v", installation.ErrSettings, line, col, se)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", installation.ErrSettings, err)
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
