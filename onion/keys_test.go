package onion

import (
	"candor/onion/onionkey"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	bineed "github.com/cretz/bine/torutil/ed25519"
)

func TestTorKeyBlobMatchesBine(t *testing.T) {
	k, err := onionkey.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	want := base64.StdEncoding.EncodeToString(bineed.FromCryptoPrivateKey(k).PrivateKey())
	if got := torKeyBlob(k); got != want {
		t.Errorf("torKeyBlob differs from bine's expansion")
	}
}

func TestConfigErrors(t *testing.T) {
	k, _ := onionkey.GenerateKey()
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"no keys", Config{DataDir: t.TempDir()}, ErrNoKey},
		{"short key", Config{DataDir: t.TempDir(), PublicKey: k[:32], RestrictedKey: k}, ErrNoKey},
		{"bad client key", Config{DataDir: t.TempDir(), PublicKey: k, RestrictedKey: k, ClientAuth: []string{"x"}}, ErrClientAuthKey},
		{"long path", Config{DataDir: "/" + strings.Repeat("d", 120), PublicKey: k, RestrictedKey: k}, ErrSocketPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(t.Context(), tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCommandHoldsNoSecretInError(t *testing.T) {
	k, _ := onionkey.GenerateKey()
	sp := onionSpec{name: "public", key: k, socket: "/s/p.sock", pow: true}
	cmd := sp.command()
	for _, want := range []string{"ED25519-V3:" + torKeyBlob(k), "Flags=DiscardPK", "PoWDefensesEnabled=1", "Port=80,unix:/s/p.sock"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("ADD_ONION command lacks %q", want)
		}
	}
	err := torError(errors.New("write: broken pipe"))
	if strings.Contains(err.Error(), torKeyBlob(k)) {
		t.Errorf("error holds the key")
	}
}
