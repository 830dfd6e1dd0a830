package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"candor/candortest"
	"candor/cases"
	"candor/crypto"
	"candor/frontend"
)

var tokenRE = regexp.MustCompile(`name="form-token" value="([^"]+)"`)

// formToken opens the report form with c and returns its token.
func (e *env) formToken(c *http.Client) string {
	e.t.Helper()
	_, page := e.get(c, "/report")
	m := tokenRE.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatal("the report form has no token")
	}
	return m[1]
}

func tokenParts(tok string, parts ...part) []part {
	return append([]part{textPart("form-token", tok)}, parts...)
}

// TestFormTokenReceiptOnce: a form with a token gets a redirect to the receipt page, which shows
// the code once; a reload says it was shown; a repeated POST says the report was received; there
// is one case, and the code opens it.
func TestFormTokenReceiptOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	tok := e.formToken(c)
	body, ct := multipartBody(tokenParts(tok, textPart("message", "once"))...)
	resp, _ := e.post(c, "/report", ct, bytes.NewReader(body))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != receiptPagePath {
		t.Fatalf("got %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), receiptPagePath)
	}
	resp, page := e.get(c, receiptPagePath)
	code := candortest.ReceiptCode([]byte(page))
	if resp.StatusCode != 200 || code == "" {
		t.Fatalf("receipt page: status %d, code found %v", resp.StatusCode, code != "")
	}
	resp, page = e.get(c, receiptPagePath)
	if resp.StatusCode != http.StatusGone || strings.Contains(page, code) ||
		!strings.Contains(page, e.srv.fe.T("en", frontend.ErrorReceiptShown.TitleKey())) {
		t.Errorf("reload: got status %d, want 410 and the 'already shown' page without the code", resp.StatusCode)
	}
	// The login page's forget.css marks the cookie; the receipt page then still says "shown".
	if resp, _ := e.get(c, receiptPagePath+"/forget.css"); resp.StatusCode != 200 {
		t.Errorf("forget.css: got status %d", resp.StatusCode)
	}
	if u, _ := url.Parse(e.url + receiptPagePath); len(c.Jar.Cookies(u)) != 1 || c.Jar.Cookies(u)[0].Value != receiptShown {
		t.Errorf("receipt cookie after forget.css: %v", c.Jar.Cookies(u))
	}
	if resp, _ := e.get(c, receiptPagePath); resp.StatusCode != http.StatusGone {
		t.Errorf("receipt page after forget.css: got status %d, want 410", resp.StatusCode)
	}
	// Within a minute, a repeated POST (a click that cancelled the receipt page while it loaded)
	// is sent to the receipt once more; after that it gets "already received".
	if resp, _ := e.post(c, "/report", ct, bytes.NewReader(body)); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("repeated POST within a minute: got %d, want 303", resp.StatusCode)
	}
	if _, page := e.get(c, receiptPagePath); candortest.ReceiptCode([]byte(page)) != code {
		t.Error("the receipt page after a repeated POST does not show the same code")
	}
	e.clock.t = e.clock.t.Add(reshowWindow)
	resp, page = e.post(c, "/report", ct, bytes.NewReader(body))
	if resp.StatusCode != http.StatusConflict || strings.Contains(page, code) ||
		!strings.Contains(page, e.srv.fe.T("en", frontend.ErrorAlreadyReceived.TitleKey())) {
		t.Errorf("repeated POST: got status %d, want 409 and the 'already received' page", resp.StatusCode)
	}
	if s, _ := e.st.Stats(); s.Cases != 1 {
		t.Fatalf("got %d cases, want 1", s.Cases)
	}
	e.login(code)
	// Another browser, or no cookie, gets no receipt.
	if resp, _ := e.get(e.client(), receiptPagePath); resp.StatusCode != http.StatusNotFound {
		t.Errorf("receipt page without the cookie: got %d, want 404", resp.StatusCode)
	}
}

// TestFormTokenRefusalReleases: a refused POST gives its token back, and the form shown again
// carries a fresh token; both work.
func TestFormTokenRefusalReleases(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	tok := e.formToken(c)
	body, ct := multipartBody(tokenParts(tok, textPart("reviewer-choice", "1"), textPart("message", "x"))...)
	resp, page := e.post(c, "/report", ct, bytes.NewReader(body))
	m := tokenRE.FindStringSubmatch(page)
	if resp.StatusCode != 400 || m == nil || m[1] == tok {
		t.Fatalf("refused: got status %d, fresh token %v", resp.StatusCode, m != nil && m[1] != tok)
	}
	for _, tk := range []string{tok, m[1]} {
		body, ct := multipartBody(tokenParts(tk, textPart("message", "x"))...)
		if resp, _ := e.post(c, "/report", ct, bytes.NewReader(body)); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("got status %d, want 303", resp.StatusCode)
		}
	}
	if s, _ := e.st.Stats(); s.Cases != 2 {
		t.Errorf("got %d cases, want 2", s.Cases)
	}
}

// TestDoubleSubmit sends a second POST with the same token while the first is still uploading.
// The second waits; if the first succeeds, the second is sent to the first's receipt; if the
// first breaks off, the second makes the case. Either way there is exactly one case.
func TestDoubleSubmit(t *testing.T) {
	for _, firstFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("first fails %v", firstFails), func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tok := e.formToken(e.client())
			body, ct := multipartBody(tokenParts(tok, textPart("message", "twice"), filePart("a.bin", bytes.Repeat([]byte("a"), 100<<10)))...)
			pr, pw := io.Pipe()
			first := make(chan int, 1)
			go func() {
				req, _ := http.NewRequest("POST", e.url+"/report", pr)
				req.Header.Set("Content-Type", ct)
				req.ContentLength = int64(len(body))
				resp, err := e.client().Do(req)
				if err != nil {
					first <- 0
					return
				}
				resp.Body.Close()
				first <- resp.StatusCode
			}()
			pw.Write(body[:len(body)/2])
			waitFor(t, func() bool { return e.srv.tokens.len() == 1 })
			c2 := e.client()
			second := make(chan *http.Response, 1)
			go func() {
				resp, _ := e.post(c2, "/report", ct, bytes.NewReader(body))
				second <- resp
			}()
			waitFor(t, func() bool { return e.srv.tokens.waits() == 1 })
			if firstFails {
				pw.CloseWithError(errors.New("the browser cancelled it"))
			} else {
				pw.Write(body[len(body)/2:])
				pw.Close()
			}
			if got := <-first; !firstFails && got != http.StatusSeeOther {
				t.Errorf("first: got status %d, want 303", got)
			}
			if resp := <-second; resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("second: got status %d, want 303", resp.StatusCode)
			}
			_, page := e.get(c2, receiptPagePath)
			if candortest.ReceiptCode([]byte(page)) == "" {
				t.Fatal("the second browser was not shown the receipt")
			}
			e.onlyCase()
		})
	}
}

// TestFormTokens exercises the token table alone: the states, expiry, and the bound.
func TestFormTokens(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ft := newFormTokens(3, func() time.Time { return now })
	nc := func() *cases.NewCase {
		code, _ := crypto.NewReceipt(bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
		return &cases.NewCase{Code: code}
	}
	if r, _ := ft.claim("a"); r != claimed {
		t.Fatalf("first claim: got %v", r)
	}
	r, wait := ft.claim("a")
	if r != claimWait || wait == nil {
		t.Fatalf("claim in flight: got %v", r)
	}
	ft.finish("a", nc())
	select {
	case <-wait:
	default:
		t.Fatal("finish did not wake the waiter")
	}
	if r, _ := ft.claim("a"); r != claimReceipt {
		t.Errorf("claim after finish: got %v, want claimReceipt", r)
	}
	if got, ok := ft.take("a"); !ok || got == nil || got.Code.IsZero() {
		t.Fatal("take: no receipt")
	}
	if got, ok := ft.take("a"); !ok || got != nil {
		t.Error("second take: want shown, no receipt")
	}
	if r, _ := ft.claim("a"); r != claimReceipt {
		t.Errorf("claim right after take: got %v, want claimReceipt (shown again once)", r)
	}
	if got, ok := ft.take("a"); !ok || got == nil || got.Code.IsZero() {
		t.Fatal("take after a repeated claim: no receipt")
	}
	now = now.Add(reshowWindow)
	if r, _ := ft.claim("a"); r != claimUsed {
		t.Errorf("claim a minute after take: got %v, want claimUsed", r)
	}
	ft.claim("b")
	ft.release("b")
	if r, _ := ft.claim("b"); r != claimed {
		t.Errorf("claim after release: got %v, want claimed", r)
	}
	// b in flight, c with an unshown receipt, a used: full; d evicts a.
	ft.claim("c")
	unshown := nc()
	ft.finish("c", unshown)
	if r, _ := ft.claim("d"); r != claimed || ft.len() != 3 {
		t.Fatalf("claim when full with a used entry: got %v, %d entries", r, ft.len())
	}
	if r, _ := ft.claim("e"); r != claimFull {
		t.Errorf("claim when full of unfinished entries: got %v, want claimFull", r)
	}
	// An unshown receipt is wiped after receiptKeep; a used token is forgotten after tokenRemember.
	now = now.Add(receiptKeep)
	if got, ok := ft.take("c"); !ok || got != nil || !unshown.Code.IsZero() {
		t.Error("an expired receipt is still shown or not wiped")
	}
	now = now.Add(tokenRemember)
	if r, _ := ft.claim("c"); r != claimed {
		t.Errorf("claim of a forgotten token: got %v, want claimed", r)
	}
}

func TestValidToken(t *testing.T) {
	if tok := newFormToken(); !validToken(tok) || newFormToken() == tok {
		t.Error("newFormToken: not valid or not random")
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 44), strings.Repeat("+", 43)} {
		if validToken(bad) {
			t.Errorf("validToken(%q) = true", bad)
		}
	}
}

// TestLogoutClearsSiteData checks the logout's headers.
func TestLogoutClearsSiteData(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.login(e.submit(textPart("message", "x")))
	resp, _ := e.post(cl, "/logout", "application/x-www-form-urlencoded", strings.NewReader(""))
	if got := resp.Header.Get("Clear-Site-Data"); got != `"cache"` {
		t.Errorf("logout: Clear-Site-Data: got %q", got)
	}
	if e.srv.sessions.len() != 0 {
		t.Error("the session survives the logout")
	}
	resp, _ = e.get(cl, "/logout/clear.css")
	if got := resp.Header.Get("Clear-Site-Data"); got != `"cache", "cookies"` {
		t.Errorf("clear.css: Clear-Site-Data: got %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("clear.css: Cache-Control: got %q", got)
	}
	if u, _ := url.Parse(e.url); len(cl.Jar.Cookies(u)) != 0 {
		t.Errorf("cookies left after clear.css: %v", cl.Jar.Cookies(u))
	}
}
