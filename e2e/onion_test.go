package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"candor/internal/bundle"
	"candor/internal/testenv"
)

// TestOnionEndToEnd runs the candor binary on the private Tor network and uses both onion services
// the way their users do: a reporter in Chromium with JavaScript off submits a report with a file
// through the public onion and logs in with the receipt; a reviewer reaches the sync API through the
// restricted onion with their client-authorisation key, and a tor without the key cannot.
func TestOnionEndToEnd(t *testing.T) {
	t.Parallel()
	skipShort(t)
	testenv.Chromium(t) // skips, with the install hint, before the Tor network starts
	n := network(t)
	in := newInstall(t, candorBin(t, raceEnabled), "Alice", "Bob")
	cred := issueCredential(t, in, in.reviewers[0])
	srv := startServe(t, in, n)
	if code, _ := waitReachable(t, n.SOCKSAddr(), "http://"+srv.public+"/"); code != http.StatusOK {
		t.Fatalf("GET / through the public onion: status %d, want 200", code)
	}

	var receipt string
	t.Run("reporter in Chromium without JavaScript", func(t *testing.T) {
		receipt = reportInBrowser(t, n.SOCKSAddr(), "http://"+srv.public)
	})
	t.Run("sync pull through the restricted onion", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), networkTimeout)
		defer cancel()
		withKey, err := n.NewClient(ctx, []string{cred.ClientAuth})
		if err != nil {
			t.Fatalf("tor client with the key: %v", err)
		}
		server := "http://" + srv.restricted
		if code, _ := waitReachable(t, withKey, server+"/api/v1/pull"); code != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/pull with the key but no token: status %d, want 401", code)
		}
		got := filepath.Join(t.TempDir(), "alice.bundle")
		if stderr, err := syncPull(t, in, server, cred.Token, withKey, got); err != nil {
			t.Fatalf("candor sync pull with the client-auth key: %v\n%s", err, stderr)
		}
		if ids := bundleCases(t, got); len(ids) != 1 {
			t.Errorf("bundle holds %d cases, want the one the browser submitted", len(ids))
		}

		// The network's own client has no key: it cannot decrypt the service's descriptor, so it
		// gets no HTTP answer at all (tor's SOCKS error 0xF4), whatever the token.
		none := filepath.Join(t.TempDir(), "none.bundle")
		stderr, err := syncPull(t, in, server, cred.Token, n.SOCKSAddr(), none)
		if err == nil {
			t.Fatal("candor sync pull without the client-auth key succeeded, want a failure")
		}
		if _, err := os.Stat(none); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("failed pull left a bundle file behind (%v)", err)
		}
		t.Logf("without the key: %v: %s", err, strings.TrimSpace(stderr))
		if err := unreachable(t, n.SOCKSAddr(), server+"/api/v1/pull", 2); !errors.Is(err, errUnreachable) {
			t.Errorf("restricted onion without the client-auth key: got an HTTP answer, want unreachable")
		}
	})
	srv.stop(t)
	out := srv.out.String()
	for what, secret := range map[string]string{"receipt code": receipt, "sync token": cred.Token,
		"report text": reportText} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("candor serve's output holds the %s", what)
		}
	}
}

// pullTimeout bounds one candor sync pull through tor.
const pullTimeout = 90 * time.Second

// stepTimeout bounds one browser step (a page load or a form submission through tor).
const stepTimeout = 90 * time.Second

// reportText is the message the browser submits; it must appear in no log.
const reportText = "The depot manager sells fuel cards on the side."

// reportInBrowser submits a report with one file through the public onion at base, with page
// scripts disabled, logs in with the receipt and checks the case page. It returns the receipt code.
func reportInBrowser(t *testing.T, socks, base string) string {
	ctx := browser(t, socks, base)
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
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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
func browser(t *testing.T, socks, origin string) context.Context {
	t.Helper()
	return testenv.Browser(t, 3*time.Minute, chromedp.ProxyServer("socks5://"+socks),
		chromedp.Flag("unsafely-treat-insecure-origin-as-secure", origin))
}

// credential is what a reviewer's online machine holds: a sync token and the client-auth line for
// its tor's ClientOnionAuthDir.
type credential struct {
	Token      string `json:"token"`
	ClientAuth string `json:"client_auth"`
}

// issueCredential runs `candor reviewer token --json` for r (before candor serve starts: the store
// is locked while it runs, and serve reads the client-auth keys at start).
func issueCredential(t *testing.T, in *install, r reviewer) credential {
	t.Helper()
	var c credential
	out := in.run(t, "reviewer", "token", "--data", in.data, r.fp, "--json")
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Token == "" || c.ClientAuth == "" {
		t.Fatalf("candor reviewer token --json: %v (token and client_auth empty or malformed)", err)
	}
	return c
}

// syncPull runs `candor sync pull` through the SOCKS5 proxy socks within pullTimeout and returns
// its error and stderr.
func syncPull(t *testing.T, in *install, server, token, socks, bundle string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pullTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, in.bin, "sync", "pull", "--server", server, "--socks", socks, "--since", "0", "-o", bundle)
	cmd.Env = append(os.Environ(), "CANDOR_SYNC_TOKEN="+token) // not on the command line, where ps shows it
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// bundleCases returns the IDs of the Case records in the bundle file.
func bundleCases(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bundle.NewReader(f)
	var ids []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return ids
		}
		if err != nil {
			t.Fatalf("reading the bundle: %v", err)
		}
		if c, ok := rec.(*bundle.Case); ok {
			ids = append(ids, hex.EncodeToString(c.ID[:]))
		}
	}
}
