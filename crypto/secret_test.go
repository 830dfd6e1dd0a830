package crypto

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestErrorsAreNotSecret feeds secrets — receipt codes, seeds, lookup keys, identity strings,
// signing keys — to every function of the package that can fail on them, in the places a
// confused user or a bug could put them, and checks that no error string (nor the fmt form of a
// secret-holding value) contains them. Modelled on age's TestParseIntroErrorIsNotSecret.
func TestErrorsAreNotSecret(t *testing.T) {
	receipt, _ := NewReceipt(testRand(42))
	code := receipt.String()
	words := strings.Fields(code)
	d, err := NewDeriver(testSalt, DefaultKDFParams(), 1)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := d.Derive(context.Background(), receipt)
	if err != nil {
		t.Fatal(err)
	}
	identity := rk.Identity().String()
	sk := testSigningKey(t, 42)
	skBytes, _ := sk.MarshalBinary()

	secrets := []string{
		code,
		strings.Join(words[:2], " "),
		identity,
		strings.ToLower(identity),
		hex.EncodeToString(rk.seed[:]),
		hex.EncodeToString(rk.Lookup[:]),
		hex.EncodeToString(skBytes),
		base64.StdEncoding.EncodeToString(skBytes),
		fmt.Sprint(rk.seed[:]),
		fmt.Sprint(skBytes),
	}

	var errs []error
	add := func(_ any, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("expected an error")
		}
		errs = append(errs, err)
	}
	add2 := func(_, _ any, err error) { t.Helper(); add(nil, err) }

	// Receipt codes.
	bad := strings.Join(append(append([]string(nil), words[:2]...), append([]string{"qqqqqq"}, words[3:]...)...), " ")
	add(ParseReceipt(bad))
	add(ParseReceipt(code + " " + words[0]))
	add(ParseReceipt(strings.Join(words[:7], " ")))
	add(ParseReceipt(strings.Repeat(code+" ", 20)))
	add(ParseReceipt(code + "x"))
	add(ParseReceipt(identity))

	// Secrets where recipients belong.
	add(ParseRecipients([]string{identity}))
	add(ParseRecipients([]string{strings.ToLower(identity)}))
	add(ParseRecipients([]string{changeChar(strings.ToLower(identity), 40)}))
	add(ParseRecipients([]string{code}))
	add(ParseRecipients([]string{"age1" + hex.EncodeToString(rk.seed[:])}))
	add(NewCard("Alice", identity, sk))
	add(NewCard(code+"\n", identity, sk))

	// Bech32 of a damaged secret key.
	add2(bech32Decode(changeChar(identity, 30)))
	add2(bech32Decode(identity[:len(identity)-3]))
	add2(bech32Decode(identity + "é"))

	// Keys in the wrong place or of the wrong size.
	add(ParseSigningKey(append(bytes.Clone(skBytes), 0)))
	add(ParseSigningKey(skBytes[:63]))
	add(ParseVerifyKey(skBytes))
	add(ParseFingerprint(identity))
	add(ParseFingerprint(code))
	add(ParseFingerprint(hex.EncodeToString(rk.seed[:])))

	// Cards with secrets pasted into them.
	c, _ := NewCard("Alice", rk.Recipient().String(), sk)
	lines := strings.Split(string(c.Marshal()), "\n")
	cardWith := func(i int, l string) []byte {
		ls := append([]string(nil), lines...)
		ls[i] = l
		return []byte(strings.Join(ls, "\n"))
	}
	add(ParseCard(cardWith(2, "recipient: "+identity)))
	add(ParseCard(cardWith(3, "verify-key: "+base64.StdEncoding.EncodeToString(skBytes))))
	add(ParseCard(cardWith(1, "name: "+code+"\x00")))
	add(ParseCard([]byte(identity)))

	// Opening with the wrong key, or a key where the header belongs.
	header, payload := seal(t, []byte("report"), newHybridIdentity(t).Recipient())
	add(Open(header, bytes.NewReader(payload), rk.Identity()))
	add(Open([]byte(identity+"\n"), bytes.NewReader(payload), rk.Identity()))
	add(Open([]byte(ageIntro+identity+"\n--- x\n"), bytes.NewReader(payload), rk.Identity()))
	add2(SplitHeader(strings.NewReader(identity)))
	add2(SplitHeader(strings.NewReader(ageIntro + identity)))
	r, err := Open(header, bytes.NewReader([]byte(identity)), age.NewInjectedFileKeyIdentity(rk.seed[:16]))
	if err == nil {
		_, err = r.Read(make([]byte, 10))
	}
	add(nil, err)

	// A derivation that gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.sem <- struct{}{}
	add(d.Derive(ctx, receipt))
	<-d.sem

	var texts []string
	for _, err := range errs {
		texts = append(texts, err.Error())
	}
	texts = append(texts, fmt.Sprint(receipt), fmt.Sprintf("%+v %#v %s %x", receipt, receipt, receipt, receipt),
		fmt.Sprint(rk), fmt.Sprintf("%+v %#v %x", rk, rk, rk), fmt.Sprint(sk), fmt.Sprintf("%+v %#v %x", sk, sk, sk))

	wordRE := make([]*regexp.Regexp, len(words))
	for i, w := range words {
		wordRE[i] = regexp.MustCompile(`(?i)\b` + w + `\b`)
	}
	for _, text := range texts {
		for _, s := range secrets {
			// Any run of 16 characters of a secret is a leak.
			for i := 0; i+16 <= len(s); i++ {
				if strings.Contains(strings.ToLower(text), strings.ToLower(s[i:i+16])) {
					t.Errorf("%q contains %q, a part of a secret", text, s[i:i+16])
					break
				}
			}
		}
		for i, re := range wordRE {
			if re.MatchString(text) {
				t.Errorf("%q contains %q, a word of the receipt code", text, words[i])
			}
		}
	}
}
