// Package server is Candor's web service: the reporter pages on the public onion service and the
// reviewers' sync API on the restricted one, as fiber apps over listeners that cmd/candor hands in
// (the package never starts tor itself).
//
// A reporter submits a report with a plain HTML form, JavaScript off. POST /report is parsed as a
// stream: each part of the multipart body is framed (internal/frame), padded and age-encrypted to
// the chosen reviewers as it arrives, and written to the store in chunks, so plaintext never
// reaches the disk and memory stays flat whatever the size of the upload. The case becomes visible
// only when its last byte is durable, in the same store transaction as its case-log entry; any
// failure aborts the blob and leaves the store as it was. The answer is the receipt page with the
// receipt code.
//
// With the receipt code, the reporter logs in (one Argon2id derivation, bounded in concurrency,
// the same work for a garbled code), gets a session that keeps the derived identity in memory
// only, reads the reviewers' replies (decrypted in memory), and can send more.
//
// Everything a handler shows is a fixed page from package frontend; the details of a failure go to
// the log without content, codes or case identifiers.
//
//	st, _ := store.Open(path, nil)
//	_ = server.Init(st, server.InitOptions{Reviewers: cards}) // once
//	s, _ := server.New(server.Config{Store: st, Frontend: fe})
//	err := s.Serve(ctx, publicListener, restrictedListener)
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"candor/cases"
	"candor/crypto"
	"candor/frontend"
	"candor/installation"
	"candor/server/circuit"
	"candor/server/store"
)

// Limits bound what one request, and the server as a whole, may use. The zero value of a field
// means its default (DefaultLimits).
type Limits struct {
	MaxTotalBytes   int64 // message, answers and files of one submission together
	MaxFiles        int   // files per submission
	MaxMessageChars int   // characters of the message field
	// UploadMemory bounds the memory of the uploads in flight (POST /report and /followup/message):
	// each reserves uploadBaseMemory while its text fields are read and uploadBatchMemory more once
	// its sealed data outgrows the store's first chunk, so a connection that trickles its form
	// holds little, and the number of uploads is bounded by the memory they really hold.
	UploadMemory  int64
	UploadWait    time.Duration // how long an upload waits for its memory reservation
	MinUploadRate int64         // bytes/s an upload body must average once UploadGrace has passed
	UploadGrace   time.Duration // the start of a body during which its rate is not checked
	UploadTime    time.Duration // a request body must be read whole within this
	IdleRead      time.Duration // a connection's read must make progress within this
	MaxConns      int           // open connections per listener
	MaxSessions   int           // follow-up sessions in memory (one per case: a new login replaces the old)
	SessionIdle   time.Duration // a session expires after this long without a request (≤ 30 min)
	KDFWait       time.Duration // how long a login waits for a free KDF slot
	HeaderTimeout time.Duration // a request's headers must arrive within this (and a keep-alive wait)
}

// DefaultLimits returns the defaults: 2 GiB, 20 files, 100 000 characters, 512 MiB of upload
// memory (64 uploads sealing large files at once, hundreds still reading their text fields; an
// upload over it waits up to 30 s), an average of at least 1 KiB/s once 60 s of a body have passed,
// 12 h for a whole body (2 GiB at 50 kB/s), 60 s idle reads, 1024 connections, 1000 sessions of
// 30 min, 20 s waiting for the KDF, 20 s for a request's headers. docs/admin.md says why.
func DefaultLimits() Limits {
	return Limits{
		MaxTotalBytes:   2 << 30,
		MaxFiles:        20,
		MaxMessageChars: 100_000,
		UploadMemory:    512 << 20,
		UploadWait:      30 * time.Second,
		MinUploadRate:   1 << 10,
		UploadGrace:     60 * time.Second,
		UploadTime:      12 * time.Hour,
		IdleRead:        60 * time.Second,
		MaxConns:        1024,
		MaxSessions:     1000,
		SessionIdle:     30 * time.Minute,
		KDFWait:         20 * time.Second,
		HeaderTimeout:   20 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	seti := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setd := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxTotalBytes, d.MaxTotalBytes)
	seti(&l.MaxFiles, d.MaxFiles)
	seti(&l.MaxMessageChars, d.MaxMessageChars)
	set(&l.UploadMemory, d.UploadMemory)
	setd(&l.UploadWait, d.UploadWait)
	set(&l.MinUploadRate, d.MinUploadRate)
	setd(&l.UploadGrace, d.UploadGrace)
	setd(&l.UploadTime, d.UploadTime)
	setd(&l.IdleRead, d.IdleRead)
	seti(&l.MaxConns, d.MaxConns)
	seti(&l.MaxSessions, d.MaxSessions)
	setd(&l.SessionIdle, d.SessionIdle)
	setd(&l.KDFWait, d.KDFWait)
	setd(&l.HeaderTimeout, d.HeaderTimeout)
	if l.SessionIdle > d.SessionIdle {
		l.SessionIdle = d.SessionIdle
	}
	return l
}

func (l Limits) frontend() frontend.Limits {
	return frontend.Limits{MaxTotalBytes: l.MaxTotalBytes, MaxFiles: l.MaxFiles, MaxMessageChars: l.MaxMessageChars}
}

// Config configures New. Store is required; the other fields have defaults.
type Config struct {
	Store    *store.Store
	Frontend *frontend.Frontend // nil: frontend.New()
	Log      *slog.Logger       // nil: discard
	Now      func() time.Time   // nil: time.Now
	Limits   Limits
	// KDF, if set, must equal the parameters stored by Init (a mismatch would derive every
	// reporter's keys wrongly, so New refuses it). Zero uses the stored ones.
	KDF crypto.KDFParams
	// MaxKDF bounds concurrent Argon2id derivations of logins (default 4; each takes KDF.Memory).
	MaxKDF int
	// SubmitKDF is the number of derivation slots reserved for the receipts of submissions
	// (default 2), apart from the logins' MaxKDF: a login flood never delays or refuses the
	// receipt of an upload that was read.
	SubmitKDF int
	// ReceiptsAhead: receipts derived before submissions need them (cases.Config.ReceiptsAhead);
	// candor serve uses 1 and calls PrepareReceipts before it listens.
	ReceiptsAhead int
	// Circuits keeps the per-Tor-circuit budgets; nil: circuit.New with the default budgets (which
	// apply only to connections that name a circuit; see budget.go).
	Circuits *circuit.Keeper
	// NotifyURL is the content-free webhook for reviewers (used by the notification feature).
	NotifyURL string
	// Dev marks a development server (--dev-listen); Serve then logs a warning.
	Dev bool
}

// Server serves Candor. Build it with New; it is safe for concurrent use.
type Server struct {
	st             *store.Store
	fe             *frontend.Frontend
	log            *slog.Logger
	now            func() time.Time
	limits         Limits
	uploads        *memSem // memory reserved by the uploads in flight
	pushes         chan struct{}
	keepSlots      chan struct{} // refused uploads that may still read what was typed (keepSlot)
	tokens         *formTokens   // one-time form tokens and receipts waiting to be shown
	sessions       *sessions
	circuits       *circuit.Keeper
	days           *circuit.DayCounts // submissions per day, for the unusual-rate signal
	dev            bool
	maxKDF         int
	submitKDF      int
	*cases.Service // the case domain the handlers call

	mu   sync.Mutex
	apps []*fiber.App // apps being served, for Shutdown
}

// New loads the installation's keys and settings from cfg.Store (created by Init) and returns a
// Server. It fails with ErrNotInitialised on a store without an installation.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	s := &Server{st: cfg.Store, fe: cfg.Frontend, log: cfg.Log, now: cfg.Now,
		limits: cfg.Limits.withDefaults(), dev: cfg.Dev, circuits: cfg.Circuits}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = dayLogger(s.log)
	if s.circuits == nil {
		s.circuits = circuit.New(circuit.Config{})
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.fe == nil {
		fe, err := frontend.New()
		if err != nil {
			return nil, err
		}
		s.fe = fe
	}
	maxKDF := cfg.MaxKDF
	if maxKDF <= 0 {
		maxKDF = 4
	}
	s.maxKDF = maxKDF
	s.submitKDF = cfg.SubmitKDF
	if s.submitKDF <= 0 {
		s.submitKDF = 2
	}
	svc, err := cases.New(cases.Config{Store: cfg.Store, Log: s.log, Now: s.now, KDF: cfg.KDF, MaxKDF: maxKDF,
		SubmitKDF: s.submitKDF, KDFWait: s.limits.KDFWait, MaxPush: s.limits.MaxTotalBytes + uploadOverhead,
		ReceiptsAhead: cfg.ReceiptsAhead})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.Service = svc
	if err := s.ReloadSettings(); err != nil {
		return nil, err
	}
	s.uploads = newMemSem(s.limits.UploadMemory)
	s.pushes = make(chan struct{}, maxPushes)
	s.keepSlots = make(chan struct{}, maxKeepSlots)
	s.tokens = newFormTokens(maxFormTokens, s.now)
	s.sessions = newSessions(s.limits.MaxSessions, s.limits.SessionIdle, s.now)
	if s.days, err = seedDayCounts(cfg.Store); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return s, nil
}

// Memory budget of a serving process (MemoryBudget): the runtime and idle connections; each upload
// reserves uploadBaseMemory (read buffers, the buffered text fields, the store's first 256 KiB
// chunk, age's and frame's chunks) and, once its sealed data outgrows that chunk, uploadBatchMemory
// (the store's commit batch: 32 chunks of 256 KiB, installation.OpenStore). A pushed outbox holds
// one envelope at a time: its encoding (up to envelope.MaxBodyLen), the copy Ed25519 verifies
// (its domain-separated message), and a blob writer's batches (up to 3 × 8 MiB) while a reply is
// staged; maxPushes at once.
const (
	baseMemory        = 48 << 20
	uploadBaseMemory  = 1 << 20
	uploadBatchMemory = 8 << 20
	firstChunk        = 256 << 10
	maxPushes         = 2
	pushMemory        = 2*64<<20 + 24<<20
)

// MemoryBudget returns the memory a process serving s should need at most: a base, the upload
// memory, the pushes, and the Argon2id derivations (logins' and submissions' slots). candor serve
// sets it as the Go runtime's soft memory limit (unless GOMEMLIMIT is set), so that the garbage
// collector and the scavenger work harder near it rather than let garbage grow past it.
func (s *Server) MemoryBudget() int64 {
	return baseMemory + s.limits.UploadMemory + maxPushes*pushMemory +
		int64(s.maxKDF+s.submitKDF)*int64(s.KDFMemory())<<10
}

// Limits returns the limits in force (defaults filled in).
func (s *Server) Limits() Limits { return s.limits }

// Public returns a new app with the reporter pages.
func (s *Server) Public() *fiber.App {
	app := s.newApp()
	s.publicRoutes(app)
	s.finalRoutes(app)
	return app
}

// Restricted returns a new app with the reviewers' sync API under /api/v1/.
func (s *Server) Restricted() *fiber.App {
	app := s.newApp()
	s.syncRoutes(app)
	s.finalRoutes(app)
	return app
}

// Dev returns a new app with both surfaces, for --dev-listen.
func (s *Server) Dev() *fiber.App {
	app := s.newApp()
	s.publicRoutes(app)
	s.syncRoutes(app)
	s.finalRoutes(app)
	return app
}

// uploadOverhead is what the multipart encoding may add to MaxTotalBytes (boundaries, part
// headers, form fields): the raw body may be this much larger before it counts as too large.
const uploadOverhead = 1 << 20

func (s *Server) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ServerHeader:                 "",
		DisableStartupMessage:        true,
		BodyLimit:                    int(s.limits.MaxTotalBytes + uploadOverhead),
		ReadBufferSize:               8 << 10,
		ErrorHandler:                 s.errorHandler,
		DisableKeepalive:             false,
		// Reads are bounded per read by IdleListener. ReadTimeout bounds the headers (and the
		// wait for a keep-alive request) as a whole; once they are in, HeaderReceived moves the
		// deadline to UploadTime, the budget of a whole body (a slow but steady upload over Tor
		// takes hours for the largest reports; the rate floor in bodyReader ends a drip sooner).
		ReadTimeout: s.limits.HeaderTimeout,
	})
	app.Server().HeaderReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
		return fasthttp.RequestConfig{ReadTimeout: s.prefetchTime()}
	}
	// No Date header: the server's clock and the exact time of an answer are nobody's business
	// (a reporter's page would otherwise carry the second of their submission).
	app.Server().NoDefaultDate = true
	app.Use(securityHeaders)
	app.Use(func(c *fiber.Ctx) error {
		if crossOrigin(c) {
			return pageErr(frontend.ErrorCrossOrigin, nil)
		}
		return c.Next()
	})
	return app
}

// fasthttp reads the start of every body (up to prefetch bytes; a small body whole) before the
// handler runs, under the deadline HeaderReceived gives. That phase is bounded like the rate floor:
// the grace period plus prefetch bytes at the minimum rate (68 s by default), so a drip cannot hold
// a connection there for hours. The handlers that stream a long body (uploads, pushes) then give it
// the whole UploadTime (extendBodyDeadline).
const prefetch = 8 << 10

func (s *Server) prefetchTime() time.Duration {
	return min(s.limits.UploadTime, s.limits.UploadGrace+time.Duration(prefetch/s.limits.MinUploadRate+1)*time.Second)
}

// extendBodyDeadline gives the rest of the request's body UploadTime to arrive (the rate floor and
// the per-read idle timeout end a drip or a stall sooner).
func (s *Server) extendBodyDeadline(c *fiber.Ctx) {
	if conn := c.Context().Conn(); conn != nil {
		conn.SetReadDeadline(time.Now().Add(s.limits.UploadTime))
	}
}

// finalRoutes answers everything no route matched.
func (s *Server) finalRoutes(app *fiber.App) {
	app.Use(func(c *fiber.Ctx) error { return pageErr(frontend.ErrorNotFound, nil) })
}

// Serve serves the public app on public and the restricted app on restricted until ctx ends or a
// listener fails, then shuts down gracefully. With restricted nil, it serves Dev() on public
// (--dev-listen). Each listener is wrapped in an IdleListener with the configured limits; Serve
// closes the listeners.
func (s *Server) Serve(ctx context.Context, public, restricted net.Listener) error {
	type served struct {
		app *fiber.App
		ln  net.Listener
	}
	var list []served
	if restricted == nil {
		list = append(list, served{s.Dev(), public})
	} else {
		list = append(list, served{s.Public(), public}, served{s.Restricted(), restricted})
	}
	if s.dev || restricted == nil {
		s.log.Warn("serving without tor: development only, no anonymity for anyone")
	}
	errc := make(chan error, len(list))
	s.mu.Lock()
	for _, sv := range list {
		s.apps = append(s.apps, sv.app)
		ln := NewIdleListener(sv.ln, s.limits.IdleRead, s.limits.MaxConns)
		go func(app *fiber.App) { errc <- app.Listener(ln) }(sv.app)
	}
	s.mu.Unlock()
	stop := make(chan struct{})
	defer close(stop)
	go s.sessions.janitor(stop, time.Minute)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := s.Shutdown(sctx); err == nil {
		err = serr
	}
	return err
}

// Shutdown stops accepting connections, waits (until ctx ends) for requests in progress, and wipes
// every session.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	apps := s.apps
	s.apps = nil
	s.mu.Unlock()
	var err error
	for _, app := range apps {
		if e := app.ShutdownWithContext(ctx); e != nil && err == nil {
			err = e
		}
	}
	s.sessions.wipeAll()
	s.WipeReceipts()
	return err
}

// ReloadSettings reads the settings (categories, questionnaires, retention) from the store again, so
// that `candor category load` takes effect on a running server without a restart.
func (s *Server) ReloadSettings() error {
	set, err := installation.LoadSettings(s.st)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.SetSettings(set)
	return nil
}
