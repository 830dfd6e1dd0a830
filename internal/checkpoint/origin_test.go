package checkpoint

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

func TestEpochOrigin(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)
	o1, err := EpochOrigin(pub, 1)
	if err != nil {
		t.Fatal(err)
	}
	o2, _ := EpochOrigin(pub, 2)
	if !ValidOrigin(o1) || !strings.HasPrefix(o1, "candor.invalid/") || !strings.HasSuffix(o1, "/epoch-1") ||
		strings.TrimSuffix(o1, "1") != strings.TrimSuffix(o2, "2") {
		t.Errorf("origins %q, %q", o1, o2)
	}
	id, n, err := ParseEpochOrigin(o2)
	if err != nil || n != 2 || !strings.Contains(o2, "/"+id+"/") {
		t.Errorf("parsed %q, %d, %v", id, n, err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public().(ed25519.PublicKey)
	if o, _ := EpochOrigin(other, 1); o == o1 {
		t.Error("two installations share an origin")
	}
	if _, err := EpochOrigin(pub, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("epoch 0: %v", err)
	}
	for _, bad := range []string{"candor.invalid/abc/epoch-1", strings.Replace(o1, "epoch-1", "epoch-01", 1),
		strings.Replace(o1, "epoch-1", "epoch-0", 1), "example.com/" + o1[len("candor.invalid/"):], o1 + "/x"} {
		if _, _, err := ParseEpochOrigin(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}
