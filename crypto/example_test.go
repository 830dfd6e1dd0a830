package crypto_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"strings"

	"candor/crypto"
	"filippo.io/age"
)

// A reporter gets a receipt code; the server derives their key from it, stores only the lookup
// value and the public recipient, and seals a reviewer's reply to that recipient. Later the
// reporter types the code again (in any case, with any spacing), the same key comes out, and the
// reply opens.
func Example() {
	salt := []byte("installation salt, 16+ bytes")
	deriver, err := crypto.NewDeriver(salt, crypto.DefaultKDFParams(), 4)
	if err != nil {
		log.Fatal(err)
	}

	receipt, err := crypto.NewReceipt(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	key, err := deriver.Derive(context.Background(), receipt)
	if err != nil {
		log.Fatal(err)
	}
	stored := key.Lookup // the server keeps this, and key.Recipient(); nothing else

	// Seal a reply to the reporter: the header and the payload go to different places.
	var header, payload bytes.Buffer
	w, err := crypto.Seal(&header, &payload, []age.Recipient{key.Recipient()})
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "Thank you, we have opened an investigation.")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	key.Wipe()

	// The reporter comes back and types the code sloppily.
	typed := "  " + strings.ToUpper(strings.ReplaceAll(receipt.String(), " ", "-")) + "\n"
	again, err := crypto.ParseReceipt(typed)
	if err != nil {
		log.Fatal(err)
	}
	key, err = deriver.Derive(context.Background(), again)
	if err != nil {
		log.Fatal(err)
	}
	defer key.Wipe()
	fmt.Println("same case:", key.LookupEqual(stored[:]))

	r, err := crypto.Open(header.Bytes(), &payload, key.Identity())
	if err != nil {
		log.Fatal(err)
	}
	reply, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply))
	// Output:
	// same case: true
	// Thank you, we have opened an investigation.
}

// A reviewer makes a card on their offline machine; the admin parses it (which checks its
// self-signature) and registers the reviewer by fingerprint, which everyone compares out of band.
func ExampleNewCard() {
	signingKey, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	identity, err := age.GenerateHybridIdentity()
	if err != nil {
		log.Fatal(err)
	}
	card, err := crypto.NewCard("Alice Example", identity.Recipient().String(), signingKey)
	if err != nil {
		log.Fatal(err)
	}
	text := card.Marshal() // paste into an email

	parsed, err := crypto.ParseCard(text)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(parsed.Name())
	typed, err := crypto.ParseFingerprint(strings.ToUpper(strings.ReplaceAll(card.Fingerprint(), "-", " ")))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fingerprint matches:", typed == parsed.Fingerprint())

	// Signatures from the card's key verify against the parsed card.
	sig, err := signingKey.Sign("candor/envelope", []byte("status: closed"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("envelope verifies:", parsed.VerifyKey().Verify("candor/envelope", []byte("status: closed"), sig) == nil)
	fmt.Println("as a card signature:", parsed.VerifyKey().Verify(crypto.CardContext, []byte("status: closed"), sig) == nil)
	// Output:
	// Alice Example
	// fingerprint matches: true
	// envelope verifies: true
	// as a card signature: false
}

// Receipt codes are forgiving to type and strict about their words; errors never repeat the code.
func ExampleParseReceipt() {
	_, err := crypto.ParseReceipt("abacus abdomen abdominal abide abiding ability ablaze")
	fmt.Println(err)
	_, err = crypto.ParseReceipt("abacus abdomen abdominle abide abiding ability ablaze able")
	fmt.Println(err)
	r, err := crypto.ParseReceipt("Abacus abdomen ABDOMINAL abide-abiding ability\tablaze\n able")
	fmt.Println(r.String(), err)
	fmt.Println(r) // a Receipt never prints itself by accident
	// Output:
	// invalid receipt code: got 7 words, want 8
	// invalid receipt code: the 3rd word is not in the word list
	// abacus abdomen abdominal abide abiding ability ablaze able <nil>
	// [receipt code redacted]
}
