package witnessclient

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"candor/internal/checkpoint"
)

// FuzzAnswer: whatever a witness answers, the client returns a verdict without panicking, and
// accepts a 200 only with lines that are a verified cosignature contained in the answer.
func FuzzAnswer(f *testing.F) {
	s := newSigner(f, fakeOrigin)
	var tree memTree
	tree.grow(f, "r", 5)
	msg, _ := tree.sign(f, s)
	text := noteText(msg)
	w := newCosigner(f, "w.example/w")
	key := w.verifier(f)
	f.Add(200, "", w.lines(f, text))
	f.Add(409, "text/x.tlog.size", []byte("7\n"))
	f.Add(409, "text/x.tlog.size; charset=utf-8", []byte("007\n"))
	f.Add(422, "text/plain", []byte("bad proof\n"))
	f.Fuzz(func(t *testing.T, code int, ctype string, body []byte) {
		resp := &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {ctype}}}
		known, answer, err := verdict("fuzz", resp, body)
		switch {
		case err != nil:
			for _, e := range []error{ErrBadResponse, ErrUnavailable, ErrRefused, ErrFork} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		case known >= 0:
			if code != http.StatusConflict {
				t.Fatalf("size %d from status %d", known, code)
			}
			return
		}
		lines, _, err := checkpoint.VerifyCosignatures(text, answer, key)
		if err == nil && (!bytes.Contains(body, lines) || !bytes.HasPrefix(lines, []byte("— w.example/w "))) {
			t.Fatalf("accepted lines %q not from the answer or not the witness's", lines)
		}
	})
}
