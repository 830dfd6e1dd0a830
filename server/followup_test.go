package server

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"candor/cases"
	"candor/crypto"
	"candor/frontend"
	"candor/internal/day"
	"candor/internal/envelope"
	"candor/internal/frame"
	"candor/internal/logentry"
	"candor/server/store"
)

// addReply stores a reviewer's reply (text and one file) the way the sync API does: sealed to
// the reporter and the case's reviewers, with a ReplyAdded entry.
func (e *env) addReply(c *store.Case, r testReviewer, text, fileName string, file []byte) {
	e.t.Helper()
	recips, err := crypto.ParseRecipients([]string{c.ReporterRecipient, r.id.Recipient().String()})
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := e.st.NewBlob()
	if err != nil {
		e.t.Fatal(err)
	}
	var hdr, payload bytes.Buffer
	enc, err := crypto.Seal(&hdr, io.MultiWriter(w, &payload), recips)
	if err != nil {
		e.t.Fatal(err)
	}
	fw := frame.NewWriter(enc)
	pw, _ := fw.Part(frame.KindMessage, "message", "text/plain")
	io.WriteString(pw, text)
	pw, _ = fw.Part(frame.KindFile, fileName, "application/pdf")
	pw.Write(file)
	if err := fw.Close(); err != nil {
		e.t.Fatal(err)
	}
	enc.Close()
	w.SetHeader(hdr.Bytes())
	id, err := w.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	le, _ := (&logentry.Entry{Type: logentry.ReplyAdded, Day: day.FromTime(e.clock.t), Case: c.ID, Actor: r.fp,
		Subject: cases.HeaderSubject(hdr.Bytes())}).Marshal()
	if _, err := e.st.AddMessage(c.ID, store.Message{Blob: id, Kind: store.KindReply, Author: r.fp,
		Day: day.FromTime(e.clock.t), Signature: e.signReply(c, r, append(hdr.Bytes(), payload.Bytes()...))}, [][]byte{le}); err != nil {
		e.t.Fatal(err)
	}
}

// signReply signs the reply envelope whose body is the age file body as reviewer r, as the inbox
// does.
func (e *env) signReply(c *store.Case, r testReviewer, body []byte) *store.Signature {
	e.t.Helper()
	env := &envelope.Envelope{Kind: envelope.KindReply, Reviewer: r.fp, Seq: 1, Case: c.ID,
		Day: day.FromTime(e.clock.t), Body: body}
	if err := envelope.Sign(env, r.sk); err != nil {
		e.t.Fatal(err)
	}
	return &store.Signature{Seq: env.Seq, Day: env.Day, Sig: env.Sig}
}

func TestRepliesAndDownload(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "report"))
	c := e.onlyCase()
	pdf := bytes.Repeat([]byte{0, 1, 2, 0xff}, 50000)
	e.addReply(c, e.reviewers[1], "Thank you. <b>Which</b> office?", "../../etc/\u202eevil.pdf", pdf)
	cl := e.login(code)
	resp, page := e.get(cl, "/followup")
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d", resp.StatusCode)
	}
	for _, want := range []string{"Thank you. &lt;b&gt;Which&lt;/b&gt; office?", "Reviewer B",
		"recorded in a log that the reviewers and independent witnesses check"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	url := fmt.Sprintf("/followup/file/%s/0", e.onlyCase().Messages[1].Blob)
	if !strings.Contains(page, url) {
		t.Fatalf("case page lacks the download link %s", url)
	}
	resp, body := e.get(cl, url)
	if resp.StatusCode != 200 || body != string(pdf) {
		t.Fatalf("download: status %d, %d bytes, want %d", resp.StatusCode, len(body), len(pdf))
	}
	if got := resp.Header.Get("Content-Type"); got != "application/octet-stream" {
		t.Errorf("got Content-Type %q", got)
	}
	if got := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(got, `attachment; filename="evil.pdf"`) {
		t.Errorf("got Content-Disposition %q", got)
	}
	// Another session cannot download it.
	resp, _ = e.get(e.client(), url)
	if resp.StatusCode != 403 {
		t.Errorf("download without session: got status %d, want 403", resp.StatusCode)
	}
}

func TestLoginTrace(t *testing.T) {
	e := newEnv(t, envOptions{})
	deleted := e.submit(textPart("message", "to be deleted"))
	c := e.onlyCase()
	de, _ := (&logentry.Entry{Type: logentry.CaseDeleted, Day: day.FromTime(e.clock.t), Case: c.ID, Actor: "server"}).Marshal()
	_, err := e.st.DeleteCase(c.ID, [][]byte{de})
	if err != nil {
		t.Fatal(err)
	}
	missing := e.submit(textPart("message", "to vanish"))
	c2 := e.onlyCase()
	// An insider removes the case without logging it.
	if _, err := e.st.DeleteCase(c2.ID, nil); err != nil {
		t.Skipf("the store refuses an unlogged deletion (%v); nothing to simulate", err)
	}
	tests := []struct {
		code, want string
	}{
		// A logged deletion: the code gets the wrong-code page, as a code never issued.
		{deleted, e.srv.fe.T("en", frontend.ErrorWrongReceipt.MessageKey())},
		{missing, e.srv.fe.T("en", keyTraceMissing, fmt.Sprint(c2.LogIndices[0]))},
	}
	for _, tt := range tests {
		status, page := e.do(t, e.client(), "POST", "/followup", nil, login(tt.code))
		if status != 403 || !strings.Contains(page, html.EscapeString(tt.want)) {
			t.Errorf("got status %d, page lacks %q", status, tt.want)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{MaxSessions: 2}})
	code := e.submit(textPart("message", "x"))
	cl := e.login(code)
	e.clock.t = e.clock.t.Add(29 * time.Minute)
	if resp, page := e.get(cl, "/followup"); !strings.Contains(page, "Current status") {
		t.Fatalf("session gone after 29 idle minutes: %d", resp.StatusCode)
	}
	e.clock.t = e.clock.t.Add(30 * time.Minute)
	_, page := e.get(cl, "/followup")
	if !strings.Contains(page, html.EscapeString(e.srv.fe.T("en", "error.session_expired.message"))) {
		t.Fatalf("expired session still shows the case")
	}
	if n := e.srv.sessions.len(); n != 0 {
		t.Fatalf("got %d sessions after expiry, want 0", n)
	}
	// The session cap: two live sessions of two cases, the third case's login is refused as busy.
	code2 := e.submit(textPart("message", "y"))
	code3 := e.submit(textPart("message", "z"))
	e.login(code)
	e.login(code2)
	status, page := e.do(t, e.client(), "POST", "/followup", nil, login(code3))
	if status != 503 || !strings.Contains(page, "The service is busy") {
		t.Errorf("third session: got status %d, want 503 busy", status)
	}
}

// TestSessionWipe checks that logout and expiry drop the reporter identity.
func TestSessionWipe(t *testing.T) {
	now := time.Unix(1e9, 0)
	ss := newSessions(10, time.Minute, func() time.Time { return now })
	r, _ := crypto.NewReceipt(rand.Reader)
	d, err := crypto.NewDeriver(make([]byte, 32), testKDF, 1)
	if err != nil {
		t.Fatal(err)
	}
	key, err := d.Derive(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	sid, ok := ss.create(store.CaseID{1}, key)
	if !ok {
		t.Fatal("create failed")
	}
	if v, ok := ss.get(sid); !ok || v.identity == nil {
		t.Fatal("no identity in a live session")
	}
	now = now.Add(time.Minute)
	ss.sweep()
	if key.Identity() != nil {
		t.Fatal("identity survives expiry")
	}
}

func TestHostileFilenames(t *testing.T) {
	e := newEnv(t, envOptions{reviewers: 1})
	tests := []struct{ in, want string }{
		{"../../../etc/passwd", "passwd"},
		{"\x00star*=", "NUL in a header line: malformed"},
		{`C:\Users\me\secret.docx`, "secret.docx"},
		{"a%00b.txt", "ab.txt"}, // RFC 2231 encoding carries the NUL
		{"invoice\u202egpj.exe", "invoicegpj.exe"},
		{"\u2067x\u2069.pdf", "x.pdf"},
		{"bad\xffutf8.txt", "bad\uFFFDutf8.txt"},
		{"...hidden", "hidden"},
		{"", "file-1"},
		{strings.Repeat("A", 4096) + ".pdf", strings.Repeat("A", 100-4) + ".pdf"}, // cases.SanitizeFilename keeps 100 runes,
		{"ctrl%1B%5B31m%09.txt", "ctrl[31m.txt"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.in), func(t *testing.T) {
			before := e.counts()
			p := filePart(tt.in, []byte("content"))
			if strings.Contains(tt.in, "%") {
				p.name, p.filename = "file\"; filename*=UTF-8''"+tt.in+"; x=\"", ""
			}
			status, page := e.do(t, e.client(), "POST", "/report", nil, func() (string, []byte) { b, ct := multipartBody(p); return ct, b })
			after := e.counts()
			if strings.HasPrefix(tt.want, "NUL") {
				if status != 400 || !strings.Contains(page, "The form could not be read") || after != before {
					t.Fatalf("got status %d, store changed %v", status, after != before)
				}
				return
			}
			if status != 200 {
				t.Fatalf("got status %d, want 200", status)
			}
			if after.Cases != before.Cases+1 {
				t.Fatalf("got %d cases, want %d", after.Cases, before.Cases+1)
			}
			var last *store.Case
			e.st.Cases(func(c *store.Case) error {
				if last == nil || c.LogIndices[0] > last.LogIndices[0] {
					last = c
				}
				return nil
			})
			parts := e.decrypt(last.Messages[0].Blob, e.reviewers[0].id)
			if len(parts) != 1 || parts[0].name != tt.want {
				t.Errorf("got name %q, want %q", parts[0].name, tt.want)
			}
		})
	}
}

// identityOf is a compile-time check that the reporter's identity type is what sessions hold.
var _ age.Identity = (*age.HybridIdentity)(nil)

var _ = http.StatusOK

// TestUnverifiableReplyIsWarned: a reply the server stored without its author's signature (an
// admin planting a "reply from the reviewers") is not shown as a reply: the case page warns that
// a reply could not be opened or verified.
func TestUnverifiableReplyIsWarned(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "report"))
	c := e.onlyCase()
	e.addReply(c, e.reviewers[1], "a genuine reply", "a.txt", []byte("a"))
	e.addUnsignedReply(e.onlyCase(), e.reviewers[1], "a planted reply")
	_, page := e.get(e.login(code), "/followup")
	if !strings.Contains(page, "a genuine reply") || strings.Contains(page, "a planted reply") {
		t.Fatalf("the case page shows the wrong replies:\n%s", page)
	}
	if !strings.Contains(page, "Warning: some replies (1) could not be opened") {
		t.Fatalf("the case page does not warn about the unverifiable reply:\n%s", page)
	}
}

// addUnsignedReply stores a reply sealed to the reporter with no author signature.
func (e *env) addUnsignedReply(c *store.Case, r testReviewer, text string) {
	e.t.Helper()
	recips, err := crypto.ParseRecipients([]string{c.ReporterRecipient})
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := e.st.NewBlob()
	if err != nil {
		e.t.Fatal(err)
	}
	var hdr bytes.Buffer
	enc, err := crypto.Seal(&hdr, w, recips)
	if err != nil {
		e.t.Fatal(err)
	}
	fw := frame.NewWriter(enc)
	pw, _ := fw.Part(frame.KindMessage, "message", "text/plain")
	io.WriteString(pw, text)
	fw.Close()
	enc.Close()
	w.SetHeader(hdr.Bytes())
	id, err := w.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	le, _ := (&logentry.Entry{Type: logentry.ReplyAdded, Day: day.FromTime(e.clock.t), Case: c.ID, Actor: r.fp,
		Subject: cases.HeaderSubject(hdr.Bytes())}).Marshal()
	if _, err := e.st.AddMessage(c.ID, store.Message{Blob: id, Kind: store.KindReply, Author: r.fp,
		Day: day.FromTime(e.clock.t)}, [][]byte{le}); err != nil {
		e.t.Fatal(err)
	}
}
