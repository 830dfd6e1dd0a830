package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"candor/internal/testenv"
	"candor/onion"
	"candor/server"
	"candor/server/store"
)

// TestOnionEndToEnd runs the candor binary on the private Tor network and uses both onion services
// the way their users do: a reporter in Chromium with JavaScript off submits a report with a file
// through the public onion and logs in with the receipt; a reviewer reaches the sync API through the
// restricted onion with their client-authorisation key, and a tor without the key cannot.
func TestOnionEndToEnd(t *testing.T) {
	t.Parallel()
	n := network(t)
	chromium := testenv.Chromium(t)
	in := newInstall(t, candorBin(t, raceEnabled), "Alice", "Bob")
	cred := issueCredential(t, in, in.reviewers[0])
	srv := startServe(t, in, n)
	if code, _ := waitReachable(t, n.SOCKSAddr(), "http://"+srv.public+"/"); code != http.StatusOK {
		t.Fatalf("GET / through the public onion: status %d, want 200", code)
	}

	var receipt string
	t.Run("reporter in Chromium without JavaScript", func(t *testing.T) {
		receipt = reportInBrowser(t, chromium, n.SOCKSAddr(), "http://"+srv.public)
	})
	t.Run("restricted onion needs the client-auth key", func(t *testing.T) {
		withKey, err := n.NewClient(context.Background(), []string{cred.clientAuth})
		if err != nil {
			t.Fatalf("tor client with the key: %v", err)
		}
		api := "http://" + srv.restricted + "/api/v1/pull"
		code, _ := waitReachable(t, withKey, api)
		if code != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/pull without a token, with the key: status %d, want 401", code)
		}
		// The network's own client has no key: it cannot decrypt the descriptor, so it gets no
		// HTTP answer at all (tor's SOCKS error 0xF4), however often it tries.
		if err := unreachable(t, n.SOCKSAddr(), api, 3); !errors.Is(err, errUnreachable) {
			t.Errorf("restricted onion without the client-auth key: got an HTTP answer, want unreachable")
		} else {
			t.Logf("without the key: %v", err)
		}
	})
	srv.stop(t)
	out := srv.out.String()
	for what, secret := range map[string]string{"receipt code": receipt, "sync token": cred.token,
		"report text": reportText} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("candor serve's output holds the %s", what)
		}
	}
}

// stepTimeout bounds one browser step (a page load or a form submission through tor).
const stepTimeout = 90 * time.Second

// reportText is the message the browser submits; it must appear in no log.
const reportText = "The depot manager sells fuel cards on the side."

// reportInBrowser submits a report with one file through the public onion at base, with page
// scripts disabled, logs in with the receipt and checks the case page. It returns the receipt code.
func reportInBrowser(t *testing.T, chromium, socks, base string) string {
	ctx := browser(t, chromium, socks, base)
	shots := screenshotDir(t)
	file := filepath.Join(t.TempDir(), "fuel-cards.csv")
	os.WriteFile(file, []byte("card,litres\n0042,1200\n"), 0o600)
	do := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, a...); err != nil {
			h1, _ := chromedp.Run(ctx, chromedp.Text("h1", chromedp.AtLeast(0))) // what the page says instead
			t.Fatalf("%s: %v (page heading %q)", what, err, h1)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, "onion-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do("open the form", chromedp.Navigate(base+"/report"), chromedp.WaitVisible("#message"))
	shot("1-report")
	do("fill the form", chromedp.SendKeys("#message", reportText), chromedp.SetUploadFiles("#file-1", []string{file}))
	shot("2-report-filled")
	do("submit", chromedp.Click(`form.report button[type="submit"]`), chromedp.WaitVisible("#receipt-code"))
	code, err := chromedp.Run(ctx, chromedp.Text("#receipt-code"))
	if err != nil || len(strings.Fields(code)) != 8 {
		t.Fatalf("receipt code: got %d words (%v), want 8", len(strings.Fields(code)), err)
	}
	shot("3-receipt")
	do("open the login", chromedp.Navigate(base+"/followup"), chromedp.WaitVisible("#receipt"))
	do("log in", chromedp.SendKeys("#receipt", code), chromedp.Click(`form.login button[type="submit"]`),
		chromedp.WaitVisible("#status-heading"))
	status, err := chromedp.Run(ctx, chromedp.Text(".dates dd strong"))
	if err != nil || status != "Received" {
		t.Errorf("case page: got status %q (%v), want Received", status, err)
	}
	shot("4-case")
	t.Logf("screenshots in %s", shots)
	return code
}

// browser starts headless Chromium proxied through the SOCKS5 port socks (which also resolves the
// .onion names), with page scripts disabled as Tor Browser's Safest level does.
//
// Like Tor Browser, it treats the onion origin as a secure context. Stock Chromium does not: on an
// http:// origin it sends no Sec-Fetch-Site header, and under our Referrer-Policy no-referrer its form
// POSTs carry "Origin: null", which the server's cross-origin check (rightly) refuses.
func browser(t *testing.T, chromium, socks, origin string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.ProxyServer("socks5://"+socks), chromedp.Flag("unsafely-treat-insecure-origin-as-secure", origin))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelT)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disabling scripts: %v", err)
	}
	return ctx
}

// credential is what a reviewer's online machine holds: a sync token and the client-auth line for
// its tor's ClientOnionAuthDir.
type credential struct{ token, clientAuth string }

// issueCredential gives r a sync token and a client-authorisation key, written straight into the
// store (the server keeps the token's SHA-256 and the key's public half), before candor serve
// starts. It stands in for `candor reviewer token` until that command exists.
func issueCredential(t *testing.T, in *install, r reviewer) credential {
	t.Helper()
	pub, priv, err := onion.NewClientAuthKey()
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	st, err := server.OpenStore(in.data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.UpdateReviewer(r.fp, func(rv *store.Reviewer) error {
		rv.TokenHash = sha256.Sum256([]byte(token))
		rv.ClientAuthPub = pub
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	restricted, _ := onionAddresses(t, st)
	return credential{token: token, clientAuth: onion.ClientAuthLine(restricted, priv)}
}

// onionAddresses returns the restricted and public addresses from the store's keys.
func onionAddresses(t *testing.T, st *store.Store) (restricted, public string) {
	t.Helper()
	pk, rk, err := server.OnionKeys(st)
	if err != nil {
		t.Fatal(err)
	}
	return onion.AddressOf(rk.Public().(ed25519.PublicKey)), onion.AddressOf(pk.Public().(ed25519.PublicKey))
}
