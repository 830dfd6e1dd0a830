package reliability

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"candor/internal/bundle"
	"candor/server"
	"candor/server/store"
)

// hostileLimits are small so that the corpus can cross every limit with small files.
var hostileLimits = server.Limits{MaxTotalBytes: 64 << 10, MaxFiles: 3, MaxMessageChars: 100}

// TestHostileCorpus runs every file of testdata/hostile (see TestWriteHostileCorpus) against an
// in-process server and checks that each is refused clearly — an error status with Candor's error
// page or JSON error, or a bundle the reader rejects — and that the store is unchanged.
func TestHostileCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("%d files in testdata/hostile, want at least 40", len(files))
	}
	e := newInproc(t, hostileLimits)
	token := "hostile-corpus-token"
	fp := e.rev.Card.Fingerprint()
	_, err = e.st.UpdateReviewer(fp, func(r *store.Reviewer) error {
		r.TokenHash = sha256.Sum256([]byte(token))
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One legitimate case, so that "unchanged" covers existing data too.
	if status, code, _, err := report(e.url, "legitimate", "l.txt", []byte("legitimate")); err != nil || status != http.StatusOK || code == "" {
		t.Fatalf("legitimate report: status %d, %v", status, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			before := stateOf(t, e.st)
			switch {
			case strings.HasPrefix(name, "http-"):
				hostileHTTP(t, e.addr, b)
			case strings.HasPrefix(name, "outbox-"):
				hostilePush(t, e.url, token, b)
			case strings.HasPrefix(name, "bundle-"):
				if _, err := bundle.VerifyFunc(bytes.NewReader(b), func(*bundle.Header) (bundle.Verifier, error) {
					return rejectAll{}, nil
				}); err == nil {
					t.Errorf("bundle accepted")
				}
			case strings.HasPrefix(name, "attack-"):
				t.Skip("an attack script: TestHostileAttacks runs it")
			default:
				t.Fatalf("unknown kind of hostile file %s", name)
			}
			if after := stateOf(t, e.st); !reflect.DeepEqual(after, before) {
				t.Errorf("store changed: %+v, was %+v", after, before)
			}
		})
	}
}

// rejectAll is a bundle verifier that accepts no signature.
type rejectAll struct{}

func (rejectAll) Verify(string, []byte, []byte) error { return errors.New("no signature is valid") }

// hostileHTTP sends a raw request and wants one answer: an error status, with the error page when
// the answer is HTML.
func hostileHTTP(t *testing.T, addr string, raw []byte) {
	t.Helper()
	resp, body := rawExchange(t, addr, raw)
	if resp == nil {
		t.Fatalf("no answer: the connection closed without a refusal")
	}
	if resp.StatusCode < 400 {
		t.Errorf("status %d, want a refusal (4xx or 503)", resp.StatusCode)
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d: a hostile request must not be an internal error", resp.StatusCode)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && !errorPage(body) {
		t.Errorf("status %d with an HTML page that is not the error page", resp.StatusCode)
	}
}

// rawExchange writes raw, half-closes the connection (a truncated body ends there) and reads one
// answer.
func rawExchange(t *testing.T, addr string, raw []byte) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// hostilePush posts an outbox with a valid token and wants a 4xx JSON error.
func hostilePush(t *testing.T, base, token string, outbox []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/push", bytes.NewReader(outbox))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(string(body), `"error"`) {
		t.Errorf("push: status %d, body %.200q; want a 4xx JSON error", resp.StatusCode, body)
	}
}
