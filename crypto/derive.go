package crypto

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"sync/atomic"

	"filippo.io/age"
	"golang.org/x/crypto/argon2"
)

// Minimum key-derivation cost that [NewDeriver] accepts, and the shortest salt.
const (
	MinKDFMemory = 64 * 1024 // KiB, i.e. 64 MiB
	MinKDFTime   = 2
	MinSaltSize  = 16
)

// maxKDFMemory keeps a typo in a configuration file from asking for more memory than any
// reasonable server has: 4 GiB per derivation.
const maxKDFMemory = 4 * 1024 * 1024

// KDFParams are the Argon2id parameters of receipt-code derivation. They are part of an
// installation's settings: changing them changes every reporter's keys, so existing receipts stop
// working.
type KDFParams struct {
	Memory  uint32 `json:"memory"`  // KiB
	Time    uint32 `json:"time"`    // passes
	Threads uint8  `json:"threads"` // lanes
}

// DefaultKDFParams returns 64 MiB, 3 passes, 2 lanes.
func DefaultKDFParams() KDFParams {
	return KDFParams{Memory: 64 * 1024, Time: 3, Threads: 2}
}

func (p KDFParams) check() error {
	switch {
	case p.Memory < MinKDFMemory:
		return fmt.Errorf("%w: memory %d KiB is below the minimum of %d KiB (64 MiB)", ErrKDFParams, p.Memory, MinKDFMemory)
	case p.Memory > maxKDFMemory:
		return fmt.Errorf("%w: memory %d KiB is above the maximum of %d KiB (4 GiB)", ErrKDFParams, p.Memory, maxKDFMemory)
	case p.Time < MinKDFTime:
		return fmt.Errorf("%w: time %d is below the minimum of %d passes", ErrKDFParams, p.Time, MinKDFTime)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads must be at least 1", ErrKDFParams)
	}
	return nil
}

// A Deriver turns receipt codes into reporter keys with Argon2id under an installation's salt and
// parameters. At most maxConcurrent derivations run at once, so a flood of logins costs at most
// maxConcurrent × Memory of memory; further callers wait their turn.
//
// A Deriver is safe for concurrent use.
type Deriver struct {
	salt   []byte
	params KDFParams
	sem    chan struct{}

	// active counts the derivations running now and peak the most seen at once, measured inside
	// the slot so that a test can prove the bound instead of trusting the semaphore.
	active, peak atomic.Int64
	// inSlot, if set (tests only), runs inside the slot before the derivation.
	inSlot func()
}

// NewDeriver returns a Deriver. It refuses a salt shorter than [MinSaltSize], parameters below
// [MinKDFMemory] or [MinKDFTime], and maxConcurrent below 1; errors wrap [ErrKDFParams].
// The salt is copied.
func NewDeriver(salt []byte, p KDFParams, maxConcurrent int) (*Deriver, error) {
	if len(salt) < MinSaltSize {
		return nil, fmt.Errorf("%w: salt is %d bytes, want at least %d", ErrKDFParams, len(salt), MinSaltSize)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if maxConcurrent < 1 {
		return nil, fmt.Errorf("%w: maxConcurrent is %d, want at least 1", ErrKDFParams, maxConcurrent)
	}
	return &Deriver{
		salt:   append([]byte(nil), salt...),
		params: p,
		sem:    make(chan struct{}, maxConcurrent),
	}, nil
}

// Derive computes the reporter key of r. It waits for a free slot first and returns ctx's error if
// ctx ends while waiting; a derivation that has started runs to completion (Argon2id cannot be
// interrupted) and takes the same time whatever the code. The zero Receipt is rejected with
// [ErrInvalidReceipt].
func (d *Deriver) Derive(ctx context.Context, r Receipt) (*ReporterKey, error) {
	if r.IsZero() {
		return nil, fmt.Errorf("%w: zero receipt", ErrInvalidReceipt)
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("deriving reporter key: %w", ctx.Err())
	}
	defer func() { <-d.sem }()
	d.enter()
	defer d.active.Add(-1)
	if d.inSlot != nil {
		d.inSlot()
	}

	password := []byte(r.String())
	out := argon2.IDKey(password, d.salt, d.params.Time, d.params.Memory, d.params.Threads, 64)
	clear(password)
	defer clear(out)
	return newReporterKey(out)
}

// enter counts a derivation in and raises peak if needed.
func (d *Deriver) enter() {
	n := d.active.Add(1)
	for {
		p := d.peak.Load()
		if n <= p || d.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// newReporterKey splits a 64-byte Argon2id output: bytes 0..31 are the lookup key, 32..63 the seed
// of the reporter's age hybrid identity.
func newReporterKey(out []byte) (*ReporterKey, error) {
	k := &ReporterKey{Lookup: sha256.Sum256(out[:32])}
	copy(k.seed[:], out[32:64])
	s, err := bech32Encode("AGE-SECRET-KEY-PQ-", k.seed[:])
	if err != nil {
		return nil, fmt.Errorf("deriving reporter key: encoding identity: %w", err)
	}
	id, err := age.ParseHybridIdentity(s)
	if err != nil {
		// age's errors about secret keys do not quote the key.
		return nil, fmt.Errorf("deriving reporter key: %w", err)
	}
	k.identity, k.recipient = id, id.Recipient()
	return k, nil
}

// A ReporterKey is what a receipt code unlocks: the lookup value that finds the case, and the
// reporter's age hybrid identity that decrypts replies.
//
// Lookup is SHA-256 of the lookup half of the Argon2id output; it is the only value of the key
// that the server stores. The raw lookup half is never kept.
//
// A ReporterKey formats as "[reporter key redacted]" with every fmt verb.
//
// # Wiping
//
// [ReporterKey.Wipe] zeroes the seed and Lookup held by the key and drops its references to the
// identity. Go gives no guarantee beyond that: the age identity keeps its own copy of the
// key material inside unexported fields that cannot be reached, the garbage collector may have
// moved or copied any value, the identity's Bech32 string and Argon2id's 64 MiB work area are
// released but not overwritten, and the receipt code's string is immutable. Wiping shortens the
// life of secrets in memory; it does not prove their erasure.
type ReporterKey struct {
	Lookup [32]byte

	seed      [32]byte
	identity  *age.HybridIdentity
	recipient *age.HybridRecipient
}

// Identity returns the reporter's age hybrid identity, or nil after [ReporterKey.Wipe].
func (k *ReporterKey) Identity() *age.HybridIdentity { return k.identity }

// Recipient returns the reporter's public age hybrid recipient (age1pq1…), which the server stores
// with the case so that replies can be encrypted to the reporter. It stays available after Wipe.
func (k *ReporterKey) Recipient() *age.HybridRecipient { return k.recipient }

// LookupEqual reports, in constant time, whether k's Lookup equals lookup.
func (k *ReporterKey) LookupEqual(lookup []byte) bool {
	return subtle.ConstantTimeCompare(k.Lookup[:], lookup) == 1
}

// Wipe zeroes the secrets held by k (see the type's documentation for what it cannot reach).
func (k *ReporterKey) Wipe() {
	clear(k.seed[:])
	clear(k.Lookup[:])
	k.identity = nil
}

// Format implements [fmt.Formatter] so that printing a ReporterKey never reveals it.
func (k *ReporterKey) Format(f fmt.State, verb rune) {
	io.WriteString(f, "[reporter key redacted]")
}
