package crypto

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"candor/internal/testenv"
	"filippo.io/age"
)

func TestRewrap(t *testing.T) {
	alice, bob, carol := newHybridIdentity(t), newHybridIdentity(t), newHybridIdentity(t)
	plaintext := make([]byte, 100_000)
	rand.NewChaCha8([32]byte{7}).Read(plaintext)
	header, payload := seal(t, plaintext, alice.Recipient(), bob.Recipient())

	nh, err := Rewrap(header, alice, []age.Recipient{alice.Recipient(), carol.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]age.Identity{"alice": alice, "carol": carol} {
		r, err := Open(nh, bytes.NewReader(payload), id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("%s: plaintext differs (%v)", name, err)
		}
	}
	if _, err := Open(nh, bytes.NewReader(payload), bob); err == nil {
		t.Errorf("bob, left out of the new header, opened it")
	}
	if _, err := Rewrap(header, carol, []age.Recipient{carol.Recipient()}); !errors.Is(err, ErrRewrap) {
		t.Errorf("rewrap by a stranger: got %v, want ErrRewrap", err)
	}
	if _, err := Rewrap(header, alice, nil); !errors.Is(err, ErrRewrap) {
		t.Errorf("no recipients: got %v, want ErrRewrap", err)
	}
	classic, _ := age.GenerateX25519Identity()
	if _, err := Rewrap(header, alice, []age.Recipient{carol.Recipient(), classic.Recipient()}); !errors.Is(err, ErrRewrap) {
		t.Errorf("mixed recipients: got %v, want ErrRewrap", err)
	}
	tampered := bytes.Clone(nh)
	tampered[len(tampered)-5] ^= 1 // inside the MAC
	if _, err := Open(tampered, bytes.NewReader(payload), carol); err == nil {
		t.Errorf("a header with a damaged MAC opened")
	}
}

// TestStockAgeDecryptsRewrapped: a re-wrapped header ‖ the old payload is a standard age file.
func TestStockAgeDecryptsRewrapped(t *testing.T) {
	ageBin := testenv.Age(t)
	alice, carol := newHybridIdentity(t), newHybridIdentity(t)
	plaintext := []byte("the case file, shared with carol")
	header, payload := seal(t, plaintext, alice.Recipient())
	nh, err := Rewrap(header, alice, []age.Recipient{alice.Recipient(), carol.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, sealed := filepath.Join(dir, "carol.txt"), filepath.Join(dir, "shared.age")
	if err := os.WriteFile(keyFile, []byte(carol.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sealed, append(nh, payload...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ageBin, "-d", "-i", keyFile, sealed).Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	if !bytes.Equal(out, plaintext) {
		t.Errorf("age -d output differs from the plaintext")
	}
}

func BenchmarkRewrap(b *testing.B) {
	ids := []*age.HybridIdentity{newHybridIdentity(b), newHybridIdentity(b), newHybridIdentity(b)}
	header, _ := seal(b, []byte("x"), ids[0].Recipient())
	rs := []age.Recipient{ids[0].Recipient(), ids[1].Recipient(), ids[2].Recipient()}
	for b.Loop() {
		if _, err := Rewrap(header, ids[0], rs); err != nil {
			b.Fatal(err)
		}
	}
}
