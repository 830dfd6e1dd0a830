package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"candor/crypto"
	"candor/server"
)

func TestInitAndServeFlags(t *testing.T) {
	dir := t.TempDir()
	id, _ := age.GenerateHybridIdentity()
	sk, _ := crypto.GenerateSigningKey(rand.Reader)
	card, err := crypto.NewCard("Alice", id.Recipient().String(), sk)
	if err != nil {
		t.Fatal(err)
	}
	cardFile := filepath.Join(dir, "alice.card")
	os.WriteFile(cardFile, card.Marshal(), 0o600)
	data := filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	if code := run([]string{"init", "--data", data, "--reviewer", cardFile}, &out, &errb); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(data, server.StoreFile)); err != nil {
		t.Fatalf("no store: %v", err)
	}
	errb.Reset()
	if code := run([]string{"init", "--data", data}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "already initialised") {
		t.Errorf("second init: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "--data", data, "--dev-listen", "0.0.0.0:0"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "loopback") {
		t.Errorf("serve on a public address: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "--data", filepath.Join(dir, "empty"), "--dev-listen", "127.0.0.1:0"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not initialised") {
		t.Errorf("serve without init: exit %d, stderr %q", code, errb.String())
	}
}
