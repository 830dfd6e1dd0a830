package reliability

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"candor/crypto"
	"candor/internal/envelope"
)

// TestWriteHostileCorpus regenerates testdata/hostile when CANDOR_WRITE_HOSTILE=1:
//
//	CANDOR_WRITE_HOSTILE=1 go test -run TestWriteHostileCorpus ./reliability
//
// The files are committed; TestHostileCorpus runs them. Each name says what it is: http-*.txt is a
// raw request sent over TCP, outbox-*.bin is POSTed to /api/v1/push with a valid token, and
// bundle-*.bin is read by internal/bundle as the inbox would, and attack-*.json is an attack script
// (issues 13 and 17) that TestHostileAttacks replays.
func TestWriteHostileCorpus(t *testing.T) {
	if os.Getenv("CANDOR_WRITE_HOSTILE") != "1" {
		t.Skip("set CANDOR_WRITE_HOSTILE=1 to regenerate testdata/hostile")
	}
	dir := filepath.Join("testdata", "hostile")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for name, req := range hostileRequests() {
		files["http-"+name+".txt"] = []byte(req)
	}
	for name, b := range hostileOutboxes(t) {
		files["outbox-"+name+".bin"] = b
	}
	for name, b := range hostileBundles() {
		files["bundle-"+name+".bin"] = b
	}
	for name, a := range hostileAttacks() {
		b, _ := json.MarshalIndent(a, "", "  ")
		files["attack-"+name+".json"] = append(b, '\n')
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d files", len(files))
}

// post builds a raw POST with a correct Content-Length.
func post(path, contentType, body string, extra ...string) string {
	h := strings.Join(append([]string{"Host: x"}, extra...), "\r\n")
	return fmt.Sprintf("POST %s HTTP/1.1\r\n%s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		path, h, contentType, len(body), body)
}

// form builds a multipart body from name/value pairs; a name "file:NAME" makes a file part.
func form(pairs ...string) (body, contentType string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.SetBoundary("hostile-boundary")
	for i := 0; i+1 < len(pairs); i += 2 {
		if fn, ok := strings.CutPrefix(pairs[i], "file:"); ok {
			w, _ := mw.CreateFormFile("file", fn)
			w.Write([]byte(pairs[i+1]))
			continue
		}
		mw.WriteField(pairs[i], pairs[i+1])
	}
	mw.Close()
	return buf.String(), mw.FormDataContentType()
}

func hostileRequests() map[string]string {
	const ct = "multipart/form-data; boundary=hostile-boundary"
	reqs := map[string]string{}
	add := func(name string, pairs ...string) {
		body, ctype := form(pairs...)
		reqs[name] = post("/report", ctype, body)
	}
	add("report-unknown-category", "category", "no-such-category", "message", "x")
	add("report-unknown-reviewer", "reviewer", "abcd-efgh-ijkl", "message", "x")
	add("report-no-reviewer-ticked", "reviewer-choice", "1", "message", "x")
	add("report-message-too-long", "message", strings.Repeat("m", 300))
	add("report-invalid-utf8", "message", "bad \xff\xfe utf-8")
	add("report-duplicate-message", "message", "one", "message", "two")
	add("report-field-after-file", "message", "x", "file:a.txt", "data", "message", "late")
	add("report-too-many-files", "message", "x", "file:1", "a", "file:2", "b", "file:3", "c", "file:4", "d")
	add("report-over-total-size", "message", "x", "file:big.bin", strings.Repeat("B", 70<<10))
	add("report-too-many-text-fields", strings.Split(strings.Repeat("q.a,v,", 201), ",")[:402]...)
	add("report-oversize-answer", "message", "x", "q.a", strings.Repeat("a", 17<<10))
	reqs["report-no-boundary"] = post("/report", "multipart/form-data", "--x\r\n\r\n--x--\r\n")
	reqs["report-text-plain"] = post("/report", "text/plain", "message=hello")
	reqs["report-urlencoded"] = post("/report", "application/x-www-form-urlencoded", "message=hello")
	reqs["report-garbage-multipart"] = post("/report", ct, "this is not multipart at all")
	reqs["report-missing-closing-boundary"] = post("/report", ct,
		"--hostile-boundary\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhello\r\n")
	part := "--hostile-boundary\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhel"
	reqs["report-truncated-body"] = strings.Replace(post("/report", ct, part),
		fmt.Sprintf("Content-Length: %d", len(part)), "Content-Length: 700", 1)
	reqs["report-bad-part-header"] = post("/report", ct, "--hostile-boundary\r\nno colon here\r\n\r\nx\r\n--hostile-boundary--\r\n")
	reqs["report-declared-oversize"] = strings.Replace(post("/report", ct, strings.Repeat("-", 9000)),
		"Content-Length: 9000", "Content-Length: 99999999999", 1)
	body, ctype := form("message", "x")
	reqs["report-cross-site"] = post("/report", ctype, body, "Sec-Fetch-Site: cross-site")
	reqs["report-foreign-origin"] = post("/report", ctype, body, "Origin: http://evil.example")
	reqs["report-null-origin"] = post("/report", ctype, body, "Origin: null")
	reqs["login-garbled-receipt"] = post("/followup", "application/x-www-form-urlencoded", "receipt=%00%ff%2e%2e")
	reqs["login-wrong-receipt"] = post("/followup", "application/x-www-form-urlencoded", "receipt=abandon-ability-able-about-above-absent-absorb-abstract")
	reqs["login-multipart"] = post("/followup", ct, "--hostile-boundary--\r\n")
	reqs["login-oversize"] = post("/followup", "application/x-www-form-urlencoded", "receipt="+strings.Repeat("a", 20<<10))
	reqs["message-without-session"] = post("/followup/message", ctype, body)
	reqs["message-forged-session"] = post("/followup/message", ctype, body, "Cookie: candor_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	reqs["download-without-session"] = "GET /followup/file/00/0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	reqs["static-traversal"] = "GET /static/../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	reqs["static-encoded-traversal"] = "GET /static/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	reqs["method-delete"] = "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	reqs["method-trace"] = "TRACE /report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	reqs["header-too-large"] = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("h", 16<<10) + "\r\n\r\n"
	reqs["request-line-garbage"] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n"
	reqs["header-nul"] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=a\x00b\r\nContent-Length: 0\r\n\r\n"
	reqs["chunked-bad-size"] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
	reqs["cl-and-te"] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct + "\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	reqs["two-content-lengths"] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: " + ct + "\r\nContent-Length: 0\r\nContent-Length: 20\r\n\r\n--hostile-boundary--"
	reqs["push-without-token"] = post("/api/v1/push", "application/octet-stream", "candor-outbox/v1\n")
	reqs["push-bad-token"] = post("/api/v1/push", "application/octet-stream", "candor-outbox/v1\n", "Authorization: Bearer AAAA")
	reqs["pull-without-token"] = "GET /api/v1/pull HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	reqs["pull-basic-auth"] = "GET /api/v1/pull?since=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\nConnection: close\r\n\r\n"
	return reqs
}

// hostileOutboxes returns malformed outboxes and well-formed ones that must still be refused.
func hostileOutboxes(t *testing.T) map[string][]byte {
	const magic = "candor-outbox/v1\n"
	u32 := func(n uint32) string { return string(binary.BigEndian.AppendUint32(nil, n)) }
	sk, err := crypto.GenerateSigningKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(e *envelope.Envelope) []byte {
		if err := envelope.Sign(e, sk); err != nil {
			t.Fatal(err)
		}
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	status := sign(&envelope.Envelope{Kind: envelope.KindStatus, Reviewer: "forged-reviewer", Seq: 1,
		Case: [16]byte{1}, Status: envelope.StatusClosed, Outcome: envelope.OutcomeReferred})
	ack := sign(&envelope.Envelope{Kind: envelope.KindAck, Reviewer: "forged-reviewer", Seq: 2, Cursor: 1 << 40})
	outbox := func(envs ...[]byte) []byte {
		b := []byte(magic + u32(uint32(len(envs))))
		for _, e := range envs {
			b = append(append(b, u32(uint32(len(e)))...), e...)
		}
		return b
	}
	return map[string][]byte{
		"empty":             nil,
		"wrong-magic":       []byte("candor-outbox/v9\n" + u32(0)),
		"truncated-magic":   []byte("candor-out"),
		"no-count":          []byte(magic),
		"huge-count":        []byte(magic + u32(1<<31)),
		"count-mismatch":    append(outbox(status), []byte(u32(1)+"x")...)[:len(outbox(status))-3],
		"huge-length":       []byte(magic + u32(1) + u32(0xffffffff) + "x"),
		"garbage-envelope":  []byte(magic + u32(1) + u32(8) + "garbage!"),
		"trailing-bytes":    append(outbox(status), "trailing"...),
		"forged-signature":  outbox(status),
		"forged-ack":        outbox(ack),
		"seq-not-ascending": outbox(ack, status),
		"bit-flip":          flip(outbox(status), len(magic)+20),
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x40
	return b
}

func hostileBundles() map[string][]byte {
	const magic = "candor-bundle/v1\n"
	return map[string][]byte{
		"empty":                 nil,
		"wrong-magic":           []byte("candor-bundle/v2\n"),
		"magic-only":            []byte(magic),
		"overlong-length":       []byte(magic + "\xff\xff\xff\x7f"),
		"non-minimal-length":    []byte(magic + "\x80\x00"),
		"length-past-end":       []byte(magic + "\x7fshort"),
		"unknown-record":        []byte(magic + "\x02\xeeX"),
		"zero-record":           []byte(magic + "\x00"),
		"garbage":               []byte("\x00\x01\x02\x03 not a bundle"),
		"outbox-as-bundle":      []byte("candor-outbox/v1\n\x00\x00\x00\x00"),
		"age-file-as-bundle":    []byte("age-encryption.org/v1\n-> X25519 abc\n--- def\n"),
		"truncated-after-magic": []byte(magic[:10]),
	}
}
