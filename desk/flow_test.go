package desk

import (
	"bytes"
	"crypto/rand"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"candor/crypto"
	"candor/server/synctest"
)

// post sends a multipart form with fields and files (field name → file name → contents).
func post(t *testing.T, r *running, path string, fields map[string]string, files map[string]map[string][]byte) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for field, fs := range files {
		for name, body := range fs {
			fw, _ := mw.CreateFormFile(field, name)
			fw.Write(body)
		}
	}
	mw.Close()
	req, _ := http.NewRequest("POST", r.url+path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "http://"+r.host)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestImportRefusedThenAccepted: the first import without the server key's fingerprint, with a
// malformed one or with another server's is refused, naming the bundle's key; a damaged bundle is
// refused in plain words with nothing imported; the intact one imports with the right fingerprint
// and pins it; its file downloads byte for byte under its name; an empty reply is
// refused with nothing queued.
func TestImportRefusedThenAccepted(t *testing.T) {
	w := newWorld(t)
	evidence := randomBytes(70 << 10)
	w.report("Cash payments are booked as travel costs.", synctest.File{Name: "Beweis März.bin", Body: evidence})
	r := startDesk(t, w.home, true)
	bundle, err := os.ReadFile(w.pull())
	if err != nil {
		t.Fatal(err)
	}
	before := r.state(t)
	serverKey := w.srv.ServerKey()
	other, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, typed string
		status      int
		want        []string
	}{
		{"no fingerprint", "", 400, []string{"First import: confirm the server", `id="server-key-shown">` + serverKey + "<"}},
		{"not a fingerprint", "abcd-efgh", 400, []string{"Not a fingerprint"}},
		{"another server's", other.Public().Fingerprint(), 422, []string{"Refused: another server",
			"the fingerprint confirmed for this inbox is " + other.Public().Fingerprint()}},
	} {
		_, page, _ := do(t, "GET", r.url+"import", "")
		if !strings.Contains(page, `id="server_key"`) {
			t.Errorf("%s: the import page of a new inbox asks for no server key", tt.name)
		}
		status, body := post(t, r, "import", map[string]string{"server_key": tt.typed}, map[string]map[string][]byte{"bundle": {"bundle": bundle}})
		if status != tt.status {
			t.Errorf("%s: got %d, want %d", tt.name, status, tt.status)
		}
		for _, s := range tt.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s: the page lacks %q", tt.name, s)
			}
		}
		if after := r.state(t); after != before {
			t.Errorf("%s: a refused import changed the inbox: %+v", tt.name, after)
		}
	}
	status, body := post(t, r, "import", map[string]string{"server_key": serverKey},
		map[string]map[string][]byte{"bundle": {"bundle": bundle[:len(bundle)-100]}})
	if status != 422 || !strings.Contains(body, "Refused: a damaged bundle") || !strings.Contains(body, "Nothing was imported") {
		t.Errorf("damaged bundle: got %d, want 422 and the refusal in plain words", status)
	}
	if after := r.state(t); after != before {
		t.Errorf("a refused import changed the inbox: %+v", after)
	}
	if status, _ := post(t, r, "import", nil, nil); status != 400 {
		t.Errorf("an import without a file: got %d, want 400", status)
	}
	entries, _ := os.ReadDir(w.home)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".desk-import-") {
			t.Errorf("temporary bundle %s left behind", e.Name())
		}
	}
	// Typed as read aloud: capitals and spaces.
	typed := strings.ToUpper(strings.ReplaceAll(serverKey, "-", " "))
	status, body = post(t, r, "import", map[string]string{"server_key": typed}, map[string]map[string][]byte{"bundle": {"bundle": bundle}})
	if status != 200 || !strings.Contains(body, "Imported: 1 case,") || !strings.Contains(body, "now trusts server key "+serverKey) {
		t.Fatalf("intact bundle: got %d", status)
	}
	if _, page, _ := do(t, "GET", r.url+"import", ""); strings.Contains(page, `id="server_key"`) ||
		!strings.Contains(page, "This inbox trusts server key "+serverKey+" only") {
		t.Error("after the first import the import page still asks for the server key, or does not name the trusted one")
	}
	id := r.onlyCase(t)
	_, page, _ := do(t, "GET", r.url+"case/"+id, "")
	link := regexp.MustCompile(`href="/s/[^/]+/(case/[0-9a-f]+/file/[0-9a-f]+/[0-9]+)"`).FindStringSubmatch(page)
	if link == nil {
		t.Fatal("no download link on the case page")
	}
	resp, err := http.Get(r.url + link[1])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, evidence) {
		t.Errorf("download: got %d bytes, not the reporter's %d", len(got), len(evidence))
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename*=utf-8''Beweis%20M%C3%A4rz.bin` {
		t.Errorf("Content-Disposition: got %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type: got %q", ct)
	}
	before = r.state(t)
	status, body = post(t, r, "case/"+id+"/reply", map[string]string{"message": "  "}, nil)
	if status != 400 || !strings.Contains(body, "The reply is empty") || r.state(t) != before {
		t.Errorf("empty reply: got %d, want 400 and nothing queued", status)
	}
	status, _ = post(t, r, "case/"+id+"/reply", map[string]string{"message": "Which account?"},
		map[string]map[string][]byte{"file": {"q.txt": []byte("1.")}})
	if status != 303 || r.state(t).pending != before.pending+1 {
		t.Errorf("reply: got %d, pending %d", status, r.state(t).pending)
	}
}
