package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"candor/crypto"
	"candor/installation"
	"candor/server/store"
)

// Service is the case domain over an installation's store: submitting (recipients and sealed
// parts to a case), logging in with a receipt code, follow-up messages and replies, pushes of
// reviewers' signed envelopes, and bundle planning and writing. It holds no HTTP types.
type Service struct {
	st        *store.Store
	log       *slog.Logger
	now       func() time.Time
	keys      *installation.Keys
	deriver   *crypto.Deriver // logins
	receipts  *crypto.Deriver // receipts of submissions: slots of their own (Config.SubmitKDF)
	logIndex  *logIndex
	cards     cardCache
	settings  atomic.Pointer[installation.Settings] // replaced by ReloadSettings while serving
	kdfActive atomic.Int32                          // derivations running or waiting (see derive)
	kdfWait   time.Duration                         // how long a derivation waits for a free slot
	maxPush   int64                                 // bytes of one pushed outbox
	cosign    atomic.Pointer[func(context.Context)] // asks the witnesses to cosign (SetCosigner)
	appended  atomic.Pointer[func()]                // told of every append (SetAppended); must not block
	ahead     chan readyReceipt                     // receipts derived ahead (Config.ReceiptsAhead)
	refills   sync.WaitGroup                        // derivations refilling ahead
}

// serviceConfig configures newService. Store, Log and Now are required.
type Config struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// KDF, if set, must equal the parameters stored by Init (a mismatch would derive every
	// reporter's keys wrongly). Zero uses the stored ones.
	KDF    crypto.KDFParams
	MaxKDF int // concurrent Argon2id derivations of logins
	// SubmitKDF is the number of derivation slots reserved for new receipts (default 2): a
	// submission whose upload was read never waits behind logins, and waits for a receipt slot
	// as long as it takes (bounded by receiptWait), never refused as busy by a login flood.
	SubmitKDF int
	KDFWait   time.Duration // how long a derivation waits for a free slot
	MaxPush   int64         // bytes of one pushed outbox
	// ReceiptsAhead is how many receipt codes, with their reporter keys, are derived before any
	// submission needs them (PrepareReceipts, then one after each use, in the receipts' slots):
	// a finished upload then gets its receipt at once instead of after a second of Argon2id
	// (whose 64 MiB would also come on top of the upload's buffers). 0: derive each at the end of
	// its upload.
	ReceiptsAhead int
}

// newService loads the installation's keys and settings from cfg.Store (created by
// installation.Init); it fails with installation.ErrNotInitialised on a store without one.
func New(cfg Config) (*Service, error) {
	k, err := installation.LoadKeys(cfg.Store)
	if err != nil {
		return nil, err
	}
	if cfg.KDF != (crypto.KDFParams{}) && cfg.KDF != k.KDF {
		return nil, fmt.Errorf("KDF parameters differ from the installation's: %w", crypto.ErrKDFParams)
	}
	s := &Service{st: cfg.Store, log: cfg.Log, now: cfg.Now, keys: k, kdfWait: cfg.KDFWait, maxPush: cfg.MaxPush,
		logIndex: &logIndex{}, ahead: make(chan readyReceipt, max(cfg.ReceiptsAhead, 0))}
	if s.deriver, err = crypto.NewDeriver(k.Salt, k.KDF, cfg.MaxKDF); err != nil {
		return nil, err
	}
	if cfg.SubmitKDF <= 0 {
		cfg.SubmitKDF = 2
	}
	if s.receipts, err = crypto.NewDeriver(k.Salt, k.KDF, cfg.SubmitKDF); err != nil {
		return nil, err
	}
	set, err := installation.LoadSettings(cfg.Store)
	if err != nil {
		return nil, err
	}
	s.SetSettings(set)
	return s, nil
}

// SetAppended sets the function told of every case-log append the service makes (the admin's
// witness client, which then asks the witnesses to cosign); it must return at once.
func (s *Service) SetAppended(f func()) { s.appended.Store(&f) }

// notifyAppended tells the witness client (SetAppended) that the log grew.
func (s *Service) notifyAppended() {
	if f := s.appended.Load(); f != nil {
		(*f)()
	}
}

// setSettings puts new settings in force (a reload while serving).
func (s *Service) SetSettings(set installation.Settings) { s.settings.Store(&set) }

// kdfMemory is the memory of one derivation in KiB.
func (s *Service) KDFMemory() uint32 { return s.keys.KDF.Memory }

// currentSettings returns the settings in force.
func (s *Service) CurrentSettings() *installation.Settings { return s.settings.Load() }

// Refusals of the case domain; the HTTP shell shows each as its fixed page (asPage).
var (
	ErrUnknownCategory = errors.New("unknown category")
	ErrNoReviewer      = errors.New("no reviewer chosen")
	ErrUnknownReviewer = errors.New("unknown reviewer")
	ErrBusy            = errors.New("busy: no free key-derivation slot")
	// ErrLogBusy: the case log kept growing while a bundle was planned; pull again.
	ErrLogBusy    = errors.New("the case log kept growing while the bundle was planned; pull again")
	ErrNoSuchFile = errors.New("no such file")
	ErrEmpty      = errors.New("nothing to send: no text, answers or files")
)
