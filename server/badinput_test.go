package server

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"candor/frontend"
	"candor/installation"
)

// badLimits are small limits so that the table can exceed them cheaply.
var badLimits = Limits{MaxTotalBytes: 64 << 10, MaxFiles: 3, MaxMessageChars: 100, UploadWait: 50 * time.Millisecond}

// TestBadInput sends malformed, oversized, hostile and unauthorised requests; each must get its
// status and error page, and leave the store exactly as it was.
func TestBadInput(t *testing.T) {
	e := newEnv(t, envOptions{limits: badLimits, settings: &installation.Settings{Categories: []installation.Category{
		{ID: "general", Name: "General", Fields: []installation.Field{{ID: "where", Label: "Where", Kind: "text"}}}}}})
	code := e.submit(textPart("message", "seed case"))
	unknownFP := newTestReviewer(t, "Stranger").fp
	ok := func(parts ...part) func() (string, []byte) {
		return func() (string, []byte) { b, ct := multipartBody(parts...); return ct, b }
	}
	big := bytes.Repeat([]byte("x"), 65<<10)
	tests := []struct {
		name    string
		method  string // default POST
		path    string // default /report
		header  map[string]string
		body    func() (ctype string, body []byte)
		raw     string // sent over raw TCP instead (a whole request)
		session string // "valid" or "expired": log in first
		busy    bool   // hold every upload slot
		status  int
		key     frontend.ErrorKey
	}{
		{name: "oversize file", body: ok(textPart("message", "hi"), filePart("a", big)), status: 413, key: frontend.ErrorTooLarge},
		{name: "oversize files together", body: ok(filePart("a", big[:40<<10]), filePart("b", big[:40<<10])), status: 413, key: frontend.ErrorTooLarge},
		{name: "declared length over limit", header: map[string]string{"Content-Length": "999999999"},
			raw:    "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\n\r\n--b\r\n" + strings.Repeat("z", 20000),
			status: 413, key: frontend.ErrorTooLarge},
		{name: "too many files", body: ok(filePart("1", []byte("1")), filePart("2", []byte("2")), filePart("3", []byte("3")), filePart("4", []byte("4"))), status: 413, key: frontend.ErrorTooManyFiles},
		{name: "oversize message", body: ok(textPart("message", strings.Repeat("é", 101))), status: 413, key: frontend.ErrorMessageTooLong},
		{name: "malformed multipart", body: func() (string, []byte) {
			return "multipart/form-data; boundary=zzz", []byte("--zzz\r\nthis is not a header\r\n\r\nbody\r\n--zzz--\r\n")
		}, status: 400, key: frontend.ErrorMalformedForm},
		{name: "missing boundary", body: func() (string, []byte) { _, b := ok(textPart("message", "x"))(); return "multipart/form-data", b },
			status: 400, key: frontend.ErrorMalformedForm},
		{name: "not multipart", body: func() (string, []byte) { return "application/x-www-form-urlencoded", []byte("message=x") },
			status: 400, key: frontend.ErrorMalformedForm},
		{name: "empty body", body: func() (string, []byte) { return "multipart/form-data; boundary=b", nil },
			status: 400, key: frontend.ErrorMalformedForm},
		{name: "truncated body", raw: truncatedRequest(5000), status: 400, key: frontend.ErrorUploadInterrupted},
		{name: "truncated large body", raw: truncatedRequest(50000), status: 400, key: frontend.ErrorUploadInterrupted},
		{name: "truncated chunked body", raw: truncatedChunked(), status: 400, key: frontend.ErrorUploadInterrupted},
		{name: "unknown reviewer", body: ok(textPart("reviewer", unknownFP), textPart("message", "x")), status: 400, key: frontend.ErrorUnknownReviewer},
		{name: "garbled reviewer", body: ok(textPart("reviewer", "../../etc"), textPart("message", "x")), status: 400, key: frontend.ErrorUnknownReviewer},
		{name: "excluding every reviewer", body: ok(textPart("reviewer-choice", "1"), textPart("message", "x")), status: 400, key: frontend.ErrorNoReviewer},
		{name: "unknown category", body: ok(textPart("category", "nope"), textPart("message", "x")), status: 400, key: frontend.ErrorUnknownCategory},
		{name: "invalid UTF-8 message", body: ok(textPart("message", "ab\xff\xfecd")), status: 400, key: frontend.ErrorMalformedForm},
		{name: "invalid UTF-8 answer", body: ok(textPart("q.where", "\xc3\x28"), textPart("message", "x")), status: 400, key: frontend.ErrorMalformedForm},
		{name: "overlong answer", body: ok(textPart("q.where", strings.Repeat("a", 17<<10))), status: 400, key: frontend.ErrorMalformedForm},
		{name: "field after a file", body: ok(filePart("a", []byte("a")), textPart("reviewer", unknownFP)), status: 400, key: frontend.ErrorMalformedForm},
		{name: "duplicate message", body: ok(textPart("message", "a"), textPart("message", "b")), status: 400, key: frontend.ErrorMalformedForm},
		{name: "too many fields", body: func() (string, []byte) {
			var ps []part
			for range 201 {
				ps = append(ps, textPart("q.x", "1"))
			}
			return ok(ps...)()
		}, status: 400, key: frontend.ErrorMalformedForm},
		{name: "uploads busy", busy: true, body: ok(textPart("message", "x")), status: 503, key: frontend.ErrorUploadsBusy},
		{name: "cross-origin POST (Sec-Fetch-Site)", header: map[string]string{"Sec-Fetch-Site": "cross-site"},
			body: ok(textPart("message", "x")), status: 403, key: frontend.ErrorCrossOrigin},
		{name: "cross-origin POST (Origin)", header: map[string]string{"Origin": "http://evil.example"},
			body: ok(textPart("message", "x")), status: 403, key: frontend.ErrorCrossOrigin},
		{name: "cross-origin login", path: "/followup", header: map[string]string{"Sec-Fetch-Site": "same-site"},
			body: login(code), status: 403, key: frontend.ErrorCrossOrigin},
		{name: "wrong receipt", path: "/followup", body: login(wrongCode(t, code)), status: 403, key: frontend.ErrorWrongReceipt},
		{name: "garbled receipt", path: "/followup", body: login("robert'); drop table cases;--"), status: 403, key: frontend.ErrorWrongReceipt},
		{name: "oversize login body", path: "/followup", body: login(strings.Repeat("a ", 4000)), status: 400, key: frontend.ErrorMalformedForm},
		{name: "message without session", path: "/followup/message", body: ok(textPart("message", "x")), status: 403, key: frontend.ErrorSessionExpired},
		{name: "message with expired session", path: "/followup/message", session: "expired", body: ok(textPart("message", "x")), status: 403, key: frontend.ErrorSessionExpired},
		{name: "oversize follow-up", path: "/followup/message", session: "valid", body: ok(filePart("a", big)), status: 413, key: frontend.ErrorTooLarge},
		{name: "download without session", method: "GET", path: "/followup/file/00000000000000000000000000000000/0", status: 403, key: frontend.ErrorSessionExpired},
		{name: "download of another blob", method: "GET", session: "valid", path: "/followup/file/00000000000000000000000000000000/0", status: 404, key: frontend.ErrorNotFound},
		{name: "wrong method", method: "PUT", body: ok(textPart("message", "x")), status: 405, key: frontend.ErrorMethodNotAllowed},
		{name: "unknown path", method: "GET", path: "/admin", status: 404, key: frontend.ErrorNotFound},
	}
	if len(tests) < 20 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client()
			if tt.session != "" {
				c = e.login(code)
				if tt.session == "expired" {
					e.clock.t = e.clock.t.Add(31 * time.Minute)
					defer func() { e.clock.t = e.clock.t.Add(-31 * time.Minute) }()
				}
			}
			if tt.busy {
				full := e.srv.limits.UploadMemory
				if !e.srv.uploads.acquire(full, time.Second) {
					t.Fatal("could not take the whole upload memory")
				}
				defer e.srv.uploads.release(full)
			}
			before := e.counts()
			var status int
			var page string
			if tt.raw != "" {
				status, page = e.rawRequest(t, tt.raw)
			} else {
				status, page = e.do(t, c, tt.method, tt.path, tt.header, tt.body)
			}
			if status != tt.status {
				t.Errorf("got status %d, want %d", status, tt.status)
			}
			want := html.EscapeString(e.srv.fe.T("en", tt.key.MessageKey()))
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q:\n%.600s", want, page)
			}
			if after := e.counts(); after != before {
				t.Errorf("store changed: before %+v, after %+v", before, after)
			}
		})
	}
}

func login(code string) func() (string, []byte) {
	return func() (string, []byte) {
		return "application/x-www-form-urlencoded", []byte("receipt=" + strings.ReplaceAll(code, " ", "+"))
	}
}

// wrongCode returns a well-formed code that differs from code in its first word.
func wrongCode(t *testing.T, code string) string {
	w := strings.Fields(code)
	if w[0] == "abacus" {
		w[0] = "abdomen"
	} else {
		w[0] = "abacus"
	}
	return strings.Join(w, " ")
}

func (e *env) do(t *testing.T, c *http.Client, method, path string, header map[string]string, body func() (string, []byte)) (int, string) {
	t.Helper()
	if method == "" {
		method = "POST"
	}
	if path == "" {
		path = "/report"
	}
	var r io.Reader
	ctype := ""
	if body != nil {
		var b []byte
		ctype, b = body()
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rawRequest writes req on a new TCP connection, half-closes it, and reads one response.
func (e *env) rawRequest(t *testing.T, req string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// truncatedRequest declares a longer body than it sends.
func truncatedRequest(n int) string {
	body, ct := multipartBody(textPart("message", "cut"), filePart("a", bytes.Repeat([]byte("y"), n)))
	return fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		ct, len(body), body[:len(body)-200])
}

// truncatedChunked sends chunks but never the last one.
func truncatedChunked() string {
	body, ct := multipartBody(textPart("message", "cut"), filePart("a", bytes.Repeat([]byte("y"), 5000)))
	body = body[:len(body)-200]
	return fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n",
		ct, len(body), body)
}
