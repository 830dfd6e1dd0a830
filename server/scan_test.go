package server

import (
	"bytes"
	"candor/installation"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoPlaintextAtRest submits reports, follow-ups and a login with a unique marker in the
// message, an answer, a file and a file name, then scans every file under the data directory and
// the temporary directory (TMPDIR, pointed at a test directory for the server) for the marker, in
// plaintext and in base64 at every alignment. The server log must hold neither the marker nor the
// receipt code nor a case ID.
func TestNoPlaintextAtRest(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var logBuf logBuffer
	e := newEnv(t, envOptions{log: &logBuf, settings: &installation.Settings{Categories: []installation.Category{
		{ID: "general", Name: "General", Fields: []installation.Field{{ID: "where", Label: "Where", Kind: "text"}}}}}})
	rb := make([]byte, 16)
	rand.Read(rb)
	marker := "CANDOR-MARKER-" + hex.EncodeToString(rb)
	big := bytes.Repeat([]byte(marker+"\n"), 200000) // ~9 MiB: several store chunks
	code := e.submit(textPart("message", "msg "+marker), textPart("q.where", marker),
		filePart(marker+".txt", big), filePart("small.txt", []byte(marker)))
	cl := e.login(code)
	body, ct := multipartBody(textPart("message", marker), filePart(marker, big[:100000]))
	if resp, _ := e.post(cl, "/followup/message", ct, bytes.NewReader(body)); resp.StatusCode != 303 {
		t.Fatalf("follow-up: got %d", resp.StatusCode)
	}
	// A failed upload too: it must leave nothing either.
	body, ct = multipartBody(textPart("message", marker), filePart("x", big[:50000]))
	e.post(e.client(), "/report", ct, bytes.NewReader(body[:len(body)-100]))
	caseID := e.onlyCase().ID.String()
	e.st.Close() // flush; the cleanup's second Close is harmless

	needles := [][]byte{[]byte(marker)}
	for off := range 3 {
		s := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", off) + marker))
		needles = append(needles, []byte(s[4:len(s)-4])) // the alignment-independent middle
		u := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("x", off) + marker))
		needles = append(needles, []byte(u[4:len(u)-4]))
	}
	files := 0
	for _, root := range []string{e.dir, tmp} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files++
			for _, n := range needles {
				if bytes.Contains(b, n) {
					t.Errorf("%s holds the marker (%q)", p, n)
				}
			}
			return nil
		})
	}
	if files == 0 {
		t.Fatal("scanned no file")
	}
	log := logBuf.String()
	for _, secret := range []string{marker, code, caseID} {
		if strings.Contains(log, secret) {
			t.Errorf("the server log holds a secret or identifier")
		}
	}
	t.Logf("scanned %d files, %d bytes of log", files, len(log))
}
