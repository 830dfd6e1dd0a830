package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"candor/frontend"
)

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "x"))
	cl := e.login(code)
	for _, path := range []string{"/", "/report", "/followup", "/nope", "/static/candor.css"} {
		resp, err := cl.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := map[string]string{
			"Content-Security-Policy": frontend.ContentSecurityPolicy,
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
		}
		if !strings.HasPrefix(path, "/static/") {
			want["Cache-Control"] = "no-store"
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: got %s %q, want %q", path, k, got, v)
			}
		}
		if s, ok := resp.Header["Server"]; ok {
			t.Errorf("%s: got Server header %q, want none", path, s)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.submit(textPart("message", "x"))
	req, _ := http.NewRequest("POST", e.url+"/followup", strings.NewReader("receipt="+strings.ReplaceAll(code, " ", "+")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{sessionCookie + "=", "HttpOnly", "SameSite=Strict", "path=/"} {
		if !strings.Contains(strings.ToLower(sc), strings.ToLower(want)) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(strings.ToLower(sc), "expires") || strings.Contains(sc, code) {
		t.Errorf("Set-Cookie %q is persistent or holds the code", sc)
	}
}

func TestCrossOrigin(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		header map[string]string
		status int
	}{
		{map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{map[string]string{"Origin": "http://attacker.onion"}, 403},
		{map[string]string{"Origin": "null"}, 403},
		{map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{map[string]string{"Origin": e.url}, 200},
		{nil, 200},
	}
	for _, tt := range tests {
		before := e.counts()
		status, _ := e.do(t, e.client(), "POST", "/report", tt.header, func() (string, []byte) {
			b, ct := multipartBody(textPart("message", "x"))
			return ct, b
		})
		if status != tt.status {
			t.Errorf("%v: got status %d, want %d", tt.header, status, tt.status)
		}
		if tt.status != 200 && e.counts() != before {
			t.Errorf("%v: refused request changed the store", tt.header)
		}
	}
}

// TestNoSmuggling sends a request whose body the server refuses without reading, with a second
// request hidden in that body, followed by a real second request on the same connection. The hidden
// request must never be answered: fasthttp drains a small unread body and closes the connection
// after a large one.
func TestNoSmuggling(t *testing.T) {
	e := newEnv(t, envOptions{})
	hidden := "GET /report HTTP/1.1\r\nHost: x\r\n\r\n"
	next := "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
	pad := func(n int) string { return hidden + strings.Repeat("a", n) }
	tests := []struct {
		name, req string
		closed    bool
	}{
		{"small unread body", fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nSec-Fetch-Site: cross-site\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s", len(pad(100)), pad(100)), false},
		{"large unread body", fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nSec-Fetch-Site: cross-site\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s", len(pad(300<<10)), pad(300<<10)), true},
		{"chunked unread body", fmt.Sprintf("POST /followup/message HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(hidden), hidden), false},
		{"unread login body", fmt.Sprintf("POST /followup HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(hidden), hidden), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			go func() { io.WriteString(conn, tt.req+next) }()
			br := bufio.NewReader(conn)
			first, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, first.Body)
			if first.StatusCode < 400 {
				t.Fatalf("first response: got %d, want an error", first.StatusCode)
			}
			second, err := http.ReadResponse(br, nil)
			if tt.closed {
				if err == nil {
					t.Fatalf("got a second response (%d) on a connection that should close", second.StatusCode)
				}
				if !first.Close {
					t.Errorf("first response lacks Connection: close")
				}
				return
			}
			if err != nil {
				t.Fatalf("second response: %v", err)
			}
			body, _ := io.ReadAll(second.Body)
			if second.StatusCode != 404 || bytes.Contains(body, []byte(`action="/report"`)) {
				t.Fatalf("second response is %d, not the 404 of the real second request: the hidden request was served", second.StatusCode)
			}
		})
	}
}
