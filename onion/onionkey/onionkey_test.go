package onionkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/cretz/bine/torutil"
	bineed "github.com/cretz/bine/torutil/ed25519"
)

// A real vector: tor 0.4.9 answered ADD_ONION NEW:ED25519-V3 with this expanded key and service ID.
const (
	vectorBlob = "qEpSWkcWNA/vtGOZvg91f7KfcyQVqMpEVY1HmtDH5X3KkM3KCJAG5Kx50rOAqSR2ZBABVSDNLR1H/MmUIR9zGQ=="
	vectorID   = "6duryfey6dyzx57v26elnudr7tjbl6dmdmtruoufbuyhatqsifanzaqd"
)

func TestAddressOfTorVector(t *testing.T) {
	blob, err := base64.StdEncoding.DecodeString(vectorBlob)
	if err != nil {
		t.Fatal(err)
	}
	pub := ed25519.PublicKey(bineed.PrivateKey(blob).PublicKey())
	if got, want := AddressOf(pub), vectorID+".onion"; got != want {
		t.Errorf("AddressOf = %s, want %s", got, want)
	}
}

func TestAddressOfKey(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if AddressOfKey(k) != AddressOf(k.Public().(ed25519.PublicKey)) {
		t.Errorf("AddressOfKey differs from AddressOf of the public key")
	}
}

func FuzzAddressOf(f *testing.F) {
	blob, _ := base64.StdEncoding.DecodeString(vectorBlob)
	f.Add([]byte(bineed.PrivateKey(blob).PublicKey()))
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, pub []byte) {
		if len(pub) != 32 {
			return
		}
		addr := AddressOf(pub)
		if len(addr) != 62 || !strings.HasSuffix(addr, ".onion") || addr != strings.ToLower(addr) {
			t.Fatalf("malformed address %q", addr)
		}
		back, err := torutil.PublicKeyFromV3OnionServiceID(ServiceID(addr))
		if err != nil {
			t.Fatalf("bine rejects %s: %v", addr, err)
		}
		if !bytes.Equal(back, pub) {
			t.Fatalf("round trip: got %x, want %x", back, pub)
		}
	})
}

func TestClientAuthKey(t *testing.T) {
	pub, priv, err := NewClientAuthKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 52 || len(priv) != 52 {
		t.Fatalf("got key lengths %d and %d, want 52 (base32 of 32 bytes, no padding)", len(pub), len(priv))
	}
	rawPriv, err := Encoding.DecodeString(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdh.X25519().NewPrivateKey(rawPriv)
	if err != nil {
		t.Fatal(err)
	}
	if got := Encoding.EncodeToString(k.PublicKey().Bytes()); got != pub {
		t.Errorf("public key does not match private key")
	}
	if err := CheckClientAuthKey(pub); err != nil {
		t.Errorf("CheckClientAuthKey(fresh key) = %v", err)
	}
	line := ClientAuthLine(vectorID+".onion", priv)
	if want := vectorID + ":descriptor:x25519:" + priv; line != want {
		t.Errorf("ClientAuthLine = %q, want %q", line, want)
	}
	if ClientAuthLine(vectorID, priv) != line {
		t.Errorf("ClientAuthLine depends on the .onion suffix")
	}
}

func TestCheckClientAuthKey(t *testing.T) {
	pub, _, _ := NewClientAuthKey()
	for _, tc := range []struct {
		name string
		key  string
		ok   bool
	}{
		{"valid", pub, true},
		{"lowercase", strings.ToLower(pub), true},
		{"empty", "", false},
		{"short", pub[:50], false},
		{"padded", pub + "====", false},
		{"not base32", strings.Repeat("1", 52), false},
		{"space", pub[:51] + " ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckClientAuthKey(tc.key)
			if got := err == nil; got != tc.ok {
				t.Fatalf("got ok=%v (%v), want %v", got, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrClientAuthKey) {
				t.Errorf("got %v, want ErrClientAuthKey", err)
			}
			if tc.key != "" && err != nil && strings.Contains(err.Error(), tc.key) {
				t.Errorf("error repeats the key")
			}
		})
	}
}
