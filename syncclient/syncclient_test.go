package syncclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewRefusesBadServers(t *testing.T) {
	for _, tc := range []struct{ url, socks, want string }{
		{"ftp://x", "", "--server must be an http:// URL"},
		{"http://", "", "--server must be an http:// URL"},
		{"http://abc.onion", "", "needs --socks"},
	} {
		if _, err := New(tc.url, "t", tc.socks); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, socks %q) = %v, want %q", tc.url, tc.socks, err, tc.want)
		}
	}
	if _, err := New("http://abc.onion", "t", "127.0.0.1:9"); err != nil {
		t.Errorf("an .onion server through SOCKS: %v", err)
	}
}

func TestExplainSOCKS(t *testing.T) {
	base := errors.New("socks connect tcp 127.0.0.1:9050->x.onion:80: unknown code: 244")
	err := explainSOCKS(base)
	if !errors.Is(err, base) || !strings.Contains(err.Error(), "client authorisation missing") {
		t.Errorf("got %v", err)
	}
	other := errors.New("connection refused")
	if explainSOCKS(other) != other {
		t.Errorf("an error without a tor code was changed")
	}
}

func TestPullRefusesBadSince(t *testing.T) {
	c, err := New("http://127.0.0.1:9", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "--since must be a number") {
		t.Errorf("got %v", err)
	}
}

// TestPullFileWritesNothingDamaged: a bundle cut off or damaged in transit is refused with a clear
// message, the file already at out keeps its content, and no temporary file is left behind.
func TestPullFileWritesNothingDamaged(t *testing.T) {
	for name, body := range map[string]string{
		"empty":      "",
		"cut off":    "candor-bundle/v1\n",
		"not signed": "candor-bundle/v1\n" + strings.Repeat("\x00\x01garbage", 100),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, body)
			}))
			defer srv.Close()
			c, err := New(srv.URL, "token", "")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "bundle")
			if err := os.WriteFile(out, []byte("the previous bundle"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = c.PullFile(context.Background(), "", out, nil)
			if err == nil || !strings.Contains(err.Error(), "incomplete or damaged (nothing written)") {
				t.Fatalf("got %v, want the incomplete-or-damaged message", err)
			}
			if b, _ := os.ReadFile(out); string(b) != "the previous bundle" {
				t.Errorf("the file at out changed to %d bytes", len(b))
			}
			if es, _ := os.ReadDir(dir); len(es) != 1 {
				t.Errorf("the directory holds %d entries, want only the earlier bundle", len(es))
			}
		})
	}
}
