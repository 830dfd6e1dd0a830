package server

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"candor/frontend"
	"candor/installation"
)

// keptSettings has one question, so that a refused form must keep an answer too.
var keptSettings = &installation.Settings{Categories: []installation.Category{
	{ID: "general", Name: "General", Fields: []installation.Field{{ID: "where", Label: "Where", Kind: "text"}}}}}

// TestRefusedReportKeepsText sends reports that are refused for every reason a reporter can
// meet and checks that the answer is the form again with the message, the answer, the reviewer
// choice and the names of the files (to choose again), the problem next to its field, nothing
// stored, and nothing typed in the server's log.
func TestRefusedReportKeepsText(t *testing.T) {
	var logBuf logBuffer
	e := newEnv(t, envOptions{limits: badLimits, settings: keptSettings, log: &logBuf})
	const msg = "The director <took> bribes & lied"
	esc := html.EscapeString(msg)
	answer := textPart("q.where", "Head office")
	files := []part{filePart("minutes.pdf", []byte("m")), filePart("photo.jpg", []byte("p"))}
	unused := filePart("", nil) // an unused file input: not a file to choose again
	with := func(ps ...part) []part { return append([]part{answer}, ps...) }
	big := bytes.Repeat([]byte("x"), 65<<10)
	tests := []struct {
		name   string
		parts  []part
		busy   bool
		status int
		key    frontend.ErrorKey
		want   []string // on the page besides the answer
	}{
		{"no reviewer", with(append([]part{textPart("message", msg), textPart("reviewer-choice", "1")}, append(files, unused)...)...),
			false, 400, frontend.ErrorNoReviewer, []string{esc, "minutes.pdf", "photo.jpg", `id="reviewers-error"`}},
		{"unknown reviewer", with(textPart("message", msg), textPart("reviewer-choice", "1"), textPart("reviewer", newTestReviewer(t, "X").fp)),
			false, 400, frontend.ErrorUnknownReviewer, []string{esc}},
		{"message too long", with(textPart("message", strings.Repeat("é", 101)), files[0]),
			false, 413, frontend.ErrorMessageTooLong, []string{strings.Repeat("é", 101) + "</textarea>", "minutes.pdf", `aria-invalid="true"`}},
		{"message far too long", with(textPart("message", strings.Repeat("ab", 300))),
			false, 413, frontend.ErrorMessageTooLong, []string{">\n" + strings.Repeat("ab", 50) + "</textarea>", "first 100 characters"}},
		{"too many files", with(textPart("message", msg), filePart("f1", []byte("1")), filePart("f2", []byte("2")),
			filePart("f3", []byte("3")), filePart("f4", []byte("4")), filePart("f5", []byte("5"))),
			false, 413, frontend.ErrorTooManyFiles, []string{esc, "<bdi>f1</bdi>", "<bdi>f5</bdi>", `id="files-error"`}},
		{"too large", with(textPart("message", msg), filePart("big.bin", big), files[1]),
			false, 413, frontend.ErrorTooLarge, []string{esc, "big.bin", "photo.jpg"}},
		{"empty", []part{textPart("message", "  \n "), textPart("q.where", " ")},
			false, 400, frontend.ErrorEmptyReport, []string{`id="message-error"`}},
		{"unknown category", with(textPart("category", "nope"), textPart("message", msg)),
			false, 400, frontend.ErrorUnknownCategory, []string{esc}},
		{"uploads busy", with(textPart("message", msg), files[0]),
			true, 503, frontend.ErrorUploadsBusy, []string{esc, "minutes.pdf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.busy {
				full := e.srv.limits.UploadMemory
				if !e.srv.uploads.acquire(full, time.Second) {
					t.Fatal("could not take the whole upload memory")
				}
				defer e.srv.uploads.release(full)
			}
			before := e.counts()
			logBuf.Reset()
			status, page := e.do(t, e.client(), "POST", "/report", nil, func() (string, []byte) {
				b, ct := multipartBody(tt.parts...)
				return ct, b
			})
			if status != tt.status {
				t.Errorf("got status %d, want %d", status, tt.status)
			}
			want := append([]string{`<form method="post" action="/report"`, html.EscapeString(e.srv.fe.T("en", tt.key.MessageKey())),
				html.EscapeString(e.srv.fe.T("en", "form.kept"))}, tt.want...)
			if tt.name != "empty" {
				want = append(want, `value="Head office"`)
			}
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(page, "<bdi>file") {
				t.Errorf("the page names an unused file input as a file to choose again")
			}
			if after := e.counts(); after != before {
				t.Errorf("store changed: before %+v, after %+v", before, after)
			}
			for _, secret := range []string{"director", "Head office", "minutes", "photo", "big.bin", "éé", "abab"} {
				if strings.Contains(logBuf.String(), secret) {
					t.Errorf("the log holds %q:\n%s", secret, logBuf.String())
				}
			}
		})
	}
}

// TestRefusedReportTicksKeptReviewers checks that a refused form ticks exactly the reviewers the
// reporter had ticked.
func TestRefusedReportTicksKeptReviewers(t *testing.T) {
	e := newEnv(t, envOptions{limits: badLimits, reviewers: 3})
	fp := e.reviewers[1].fp
	status, page := e.do(t, e.client(), "POST", "/report", nil, func() (string, []byte) {
		b, ct := multipartBody(textPart("message", "x"), textPart("reviewer-choice", "1"), textPart("reviewer", fp),
			filePart("1", []byte("1")), filePart("2", []byte("2")), filePart("3", []byte("3")), filePart("4", []byte("4")))
		return ct, b
	})
	if status != 413 {
		t.Fatalf("got status %d, want 413", status)
	}
	boxes := regexp.MustCompile(`<input type="checkbox" name="reviewer"[^>]*>`).FindAllString(page, -1)
	if len(boxes) != 3 {
		t.Fatalf("got %d reviewer boxes, want 3", len(boxes))
	}
	for _, b := range boxes {
		if got, want := strings.HasSuffix(b, " checked>"), strings.Contains(b, fp); got != want {
			t.Errorf("%s: checked %v, want %v", b, got, want)
		}
	}
}

// TestRefusedReportDeclaredTooLarge sends a body whose declared length is over the limit: the
// text fields before the first file are still read and kept, the first file is named, and the
// rest is never read.
func TestRefusedReportDeclaredTooLarge(t *testing.T) {
	e := newEnv(t, envOptions{limits: badLimits, settings: keptSettings})
	body, ct := multipartBody(textPart("q.where", "Head office"), textPart("message", "Long story."),
		filePart("video.mp4", bytes.Repeat([]byte("v"), 20000)))
	req := fmt.Sprintf("POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 5000000\r\n\r\n%s", ct, body)
	before := e.counts()
	status, page := e.rawRequest(t, req)
	if status != 413 {
		t.Errorf("got status %d, want 413", status)
	}
	for _, w := range []string{"Long story.</textarea>", `value="Head office"`, "<bdi>video.mp4</bdi>",
		html.EscapeString(e.srv.fe.T("en", "files.again.more"))} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if after := e.counts(); after != before {
		t.Errorf("store changed: before %+v, after %+v", before, after)
	}
}

// TestRefusedFollowupKeepsText checks the follow-up form: an empty message is refused, and a
// refused message is shown again on the case page with the files to choose again.
func TestRefusedFollowupKeepsText(t *testing.T) {
	e := newEnv(t, envOptions{limits: badLimits})
	cl := e.login(e.submit(textPart("message", "first")))
	tests := []struct {
		name   string
		parts  []part
		status int
		key    frontend.ErrorKey
		want   []string
	}{
		{"empty", []part{textPart("message", " ")}, 400, frontend.ErrorEmptyMessage, []string{`id="message-error"`}},
		{"too many files", []part{textPart("message", "More & more"), filePart("a.txt", []byte("a")), filePart("b.txt", []byte("b")),
			filePart("c.txt", []byte("c")), filePart("d.txt", []byte("d"))}, 413, frontend.ErrorTooManyFiles,
			[]string{"More &amp; more</textarea>", "<bdi>a.txt</bdi>", "<bdi>d.txt</bdi>"}},
		{"too long", []part{textPart("message", strings.Repeat("z", 101))}, 413, frontend.ErrorMessageTooLong,
			[]string{strings.Repeat("z", 101) + "</textarea>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.counts()
			status, page := e.do(t, cl, "POST", "/followup/message", nil, func() (string, []byte) {
				b, ct := multipartBody(tt.parts...)
				return ct, b
			})
			if status != tt.status {
				t.Errorf("got status %d, want %d", status, tt.status)
			}
			for _, w := range append([]string{`action="/followup/message"`, `id="status-heading"`,
				html.EscapeString(e.srv.fe.T("en", tt.key.MessageKey()))}, tt.want...) {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if after := e.counts(); after != before {
				t.Errorf("store changed: before %+v, after %+v", before, after)
			}
		})
	}
}

// TestEmptyReportRules: a report with only an answer, or only a file, is not empty.
func TestEmptyReportRules(t *testing.T) {
	e := newEnv(t, envOptions{settings: keptSettings})
	e.submit(textPart("q.where", "Head office"))
	e.submit(filePart("a.txt", []byte("a")))
	e.submit(filePart("empty.txt", nil)) // a chosen file, even an empty one
	if s, _ := e.st.Stats(); s.Cases != 3 {
		t.Errorf("got %d cases, want 3", s.Cases)
	}
}

// TestExpiredSessionKeepsMessage: a follow-up message that arrives after the session expired is
// not stored, and the login page shows it (to copy) with the names of its files.
func TestExpiredSessionKeepsMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.login(e.submit(textPart("message", "first")))
	e.clock.t = e.clock.t.Add(31 * time.Minute)
	before := e.counts()
	status, page := e.do(t, cl, "POST", "/followup/message", nil, func() (string, []byte) {
		b, ct := multipartBody(textPart("message", "Forty minutes <of> writing."), filePart("scan.pdf", []byte("%PDF")))
		return ct, b
	})
	if status != 403 {
		t.Errorf("got status %d, want 403", status)
	}
	for _, w := range []string{`<form method="post" action="/followup" class="login">`, "readonly",
		"Forty minutes &lt;of&gt; writing.</textarea>", "<bdi>scan.pdf</bdi>",
		html.EscapeString(e.srv.fe.T("en", frontend.ErrorSessionExpired.MessageKey()))} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if after := e.counts(); after != before {
		t.Errorf("store changed: before %+v, after %+v", before, after)
	}
}
