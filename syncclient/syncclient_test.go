package syncclient

import (
	"errors"
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
