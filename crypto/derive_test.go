package crypto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/argon2"
)

var update = flag.Bool("update", false, "rewrite testdata/derive_vectors.json from the current code")

// testSalt is the installation salt of the test vectors.
var testSalt = []byte("candor test salt 0123456789")

type deriveVector struct {
	Receipt   string    `json:"receipt"`
	Salt      string    `json:"salt"` // hex
	Params    KDFParams `json:"params"`
	Lookup    string    `json:"lookup"` // hex of ReporterKey.Lookup
	Recipient string    `json:"recipient"`
}

const vectorsFile = "testdata/derive_vectors.json"

func vectorInputs() []deriveVector {
	r0, _ := NewReceipt(testRand(10))
	r1, _ := NewReceipt(testRand(11))
	return []deriveVector{
		{Receipt: r0.String(), Salt: hex.EncodeToString(testSalt), Params: DefaultKDFParams()},
		{Receipt: r1.String(), Salt: hex.EncodeToString(testSalt), Params: DefaultKDFParams()},
		{Receipt: r0.String(), Salt: hex.EncodeToString([]byte("another salt, 16+ bytes")), Params: DefaultKDFParams()},
		{Receipt: r0.String(), Salt: hex.EncodeToString(testSalt), Params: KDFParams{Memory: 64 * 1024, Time: 2, Threads: 1}},
	}
}

func deriveVectorKey(t *testing.T, v deriveVector) *ReporterKey {
	t.Helper()
	salt, err := hex.DecodeString(v.Salt)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDeriver(salt, v.Params, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseReceipt(v.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.Derive(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDeriveVectors pins the derivation: a change here locks every reporter out of their case.
// Regenerate (only for a deliberate format change) with go test -run TestDeriveVectors -update.
func TestDeriveVectors(t *testing.T) {
	if *update {
		var out []deriveVector
		for _, v := range vectorInputs() {
			k := deriveVectorKey(t, v)
			v.Lookup, v.Recipient = hex.EncodeToString(k.Lookup[:]), k.Recipient().String()
			out = append(out, v)
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		if err := os.WriteFile(vectorsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vectors []deriveVector
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	for i, v := range vectors {
		k := deriveVectorKey(t, v)
		if got := hex.EncodeToString(k.Lookup[:]); got != v.Lookup {
			t.Errorf("vector %d: got lookup %s, want %s", i, got, v.Lookup)
		}
		if got := k.Recipient().String(); got != v.Recipient {
			t.Errorf("vector %d: got recipient %.20s…, want %.20s…", i, got, v.Recipient)
		}
	}
}

// TestDeriveSplit recomputes one vector from its definition: Argon2id over the canonical code,
// SHA-256 of bytes 0..31 as Lookup, bytes 32..63 as the age hybrid identity seed.
func TestDeriveSplit(t *testing.T) {
	v := vectorInputs()[0]
	out := argon2.IDKey([]byte(v.Receipt), testSalt, v.Params.Time, v.Params.Memory, v.Params.Threads, 64)
	k := deriveVectorKey(t, v)
	if sha256.Sum256(out[:32]) != k.Lookup {
		t.Errorf("Lookup is not SHA-256 of the first half")
	}
	if !bytes.Equal(out[32:], k.seed[:]) {
		t.Errorf("seed is not the second half")
	}
}

func TestNewDeriverRefuses(t *testing.T) {
	good := DefaultKDFParams()
	tests := []struct {
		name    string
		salt    []byte
		params  KDFParams
		max     int
		wantErr string
	}{
		{"short salt", []byte("15 bytes salt!!"), good, 1, "salt is 15 bytes, want at least 16"},
		{"no salt", nil, good, 1, "salt is 0 bytes"},
		{"low memory", testSalt, KDFParams{Memory: 64*1024 - 1, Time: 3, Threads: 2}, 1, "below the minimum of 65536 KiB"},
		{"huge memory", testSalt, KDFParams{Memory: 8 << 20, Time: 3, Threads: 2}, 1, "above the maximum"},
		{"one pass", testSalt, KDFParams{Memory: 64 * 1024, Time: 1, Threads: 2}, 1, "time 1 is below the minimum of 2"},
		{"no threads", testSalt, KDFParams{Memory: 64 * 1024, Time: 2}, 1, "threads must be at least 1"},
		{"zero concurrency", testSalt, good, 0, "maxConcurrent is 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDeriver(tt.salt, tt.params, tt.max)
			if !errors.Is(err, ErrKDFParams) {
				t.Fatalf("got %v, want ErrKDFParams", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, err := NewDeriver(testSalt, good, 1); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}

func TestDeriveKey(t *testing.T) {
	d, err := NewDeriver(testSalt, DefaultKDFParams(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Derive(context.Background(), Receipt{}); !errors.Is(err, ErrInvalidReceipt) {
		t.Errorf("zero receipt: got %v, want ErrInvalidReceipt", err)
	}
	r, _ := NewReceipt(testRand(20))
	k, err := d.Derive(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !k.LookupEqual(k.Lookup[:]) || k.LookupEqual(make([]byte, 32)) {
		t.Errorf("LookupEqual is wrong")
	}
	if k.Identity().Recipient().String() != k.Recipient().String() {
		t.Errorf("identity and recipient do not match")
	}
	// The identity is exactly the Bech32 encoding of the seed, as age-keygen would print it.
	if want, _ := bech32Encode("AGE-SECRET-KEY-PQ-", k.seed[:]); k.Identity().String() != want {
		t.Errorf("identity string is not the Bech32 encoding of the seed")
	}
	if _, err := age.ParseHybridIdentity(k.Identity().String()); err != nil {
		t.Errorf("identity does not round-trip through age: %v", err)
	}

	recipient := k.Recipient().String()
	k.Wipe()
	if k.seed != [32]byte{} || k.Lookup != [32]byte{} || k.Identity() != nil {
		t.Errorf("Wipe left secrets behind")
	}
	if k.Recipient().String() != recipient {
		t.Errorf("Wipe changed the public recipient")
	}
}

// TestDeriveWaitsForSlot checks the semaphore: with the only slot taken, Derive waits and gives
// up when its context ends, without deriving.
func TestDeriveWaitsForSlot(t *testing.T) {
	d, err := NewDeriver(testSalt, DefaultKDFParams(), 1)
	if err != nil {
		t.Fatal(err)
	}
	d.sem <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := NewReceipt(testRand(21))
	errc := make(chan error, 1)
	go func() {
		_, err := d.Derive(ctx, r)
		errc <- err
	}()
	select {
	case err := <-errc:
		t.Fatalf("Derive returned %v while no slot was free", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	<-d.sem
	if _, err := d.Derive(context.Background(), r); err != nil {
		t.Errorf("after the slot was freed: %v", err)
	}
}

// TestDeriveBoundsConcurrency runs more derivations than slots and counts, inside the derivation,
// how many run at once: never more than the bound, and exactly the bound while the first
// derivations are held in their slots (so a semaphore that serialised everything fails too).
// It replaces a version that sampled len(sem), which the channel itself caps and so could not fail.
func TestDeriveBoundsConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several Argon2id derivations")
	}
	const slots, callers = 2, 5
	d, err := NewDeriver(testSalt, KDFParams{Memory: 64 * 1024, Time: 2, Threads: 1}, slots)
	if err != nil {
		t.Fatal(err)
	}
	arrived, release := make(chan int64, callers), make(chan struct{})
	d.inSlot = func() {
		arrived <- d.active.Load()
		<-release
	}
	var wg sync.WaitGroup
	for i := range callers {
		r, _ := NewReceipt(testRand(byte(30 + i)))
		wg.Go(func() {
			if _, err := d.Derive(context.Background(), r); err != nil {
				t.Error(err)
			}
		})
	}
	for i := range slots { // the first derivations hold their slots until released
		select {
		case <-arrived:
		case <-time.After(time.Minute): // a deadlock guard, not a timing assertion
			close(release)
			t.Fatalf("only %d of %d derivations could start while the first were held", i, slots)
		}
	}
	if got := d.active.Load(); got != slots {
		t.Errorf("with %d derivations held in their slots, got %d active, want %d", slots, got, slots)
	}
	close(release)
	wg.Wait()
	close(arrived)
	for n := range arrived {
		if n > slots {
			t.Errorf("a derivation started with %d running, want at most %d", n, slots)
		}
	}
	if got := d.peak.Load(); got != slots {
		t.Errorf("got a peak of %d concurrent derivations, want exactly %d", got, slots)
	}
	if got := d.active.Load(); got != 0 {
		t.Errorf("got %d active derivations after all returned, want 0", got)
	}
}
