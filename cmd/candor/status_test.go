package main

import (
	"crypto/ed25519"
	"testing"

	"candor/onion"
	"candor/server"
)

// TestOnionAddressMatchesOnion checks that the address candor status computes (server may not
// import onion) is the one tor publishes for the same key.
func TestOnionAddressMatchesOnion(t *testing.T) {
	for range 20 {
		k, err := onion.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub := k.Public().(ed25519.PublicKey)
		if got, want := server.OnionAddress(pub), onion.AddressOf(pub); got != want {
			t.Fatalf("server.OnionAddress = %s, want %s", got, want)
		}
	}
}
