package tornet

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ipv4 matches anything shaped like an IPv4 address.
var ipv4 = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)

// checkOffline fails t unless lines keep a tor on the private network: TestingTorNetwork 1, at least one
// DirAuthority line, and no address other than 127.0.0.1 (no IPv6 literal, no host name).
func checkOffline(t *testing.T, name string, lines []string) {
	t.Helper()
	var testing, dirAuth bool
	for _, l := range lines {
		testing = testing || l == "TestingTorNetwork 1"
		dirAuth = dirAuth || strings.HasPrefix(l, "DirAuthority ")
		for _, ip := range ipv4.FindAllString(l, -1) {
			if ip != "127.0.0.1" {
				t.Errorf("%s: line %q has address %s, want only 127.0.0.1", name, l, ip)
			}
		}
		if strings.Contains(l, "[") || strings.Contains(l, "localhost") {
			t.Errorf("%s: line %q names a non-127.0.0.1 address", name, l)
		}
	}
	if !testing {
		t.Errorf("%s: no TestingTorNetwork 1 line", name)
	}
	if !dirAuth {
		t.Errorf("%s: no DirAuthority line", name)
	}
}

func TestNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight tor processes; skipped in -short mode")
	}
	n := ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	socks, err := n.NewClient(ctx, []string{"aaaa:descriptor:x25519:AAAA"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("torrcs", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(n.Dir(), "*", "torrc"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(files), 8; got != want {
			t.Fatalf("got %d torrc files, want %d", got, want)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			checkOffline(t, f, lines)
			if got := countPrefix(lines, "DirAuthority "); got != 3 {
				t.Errorf("%s: got %d DirAuthority lines, want 3", f, got)
			}
		}
		checkOffline(t, "ServiceTorrc", n.ServiceTorrc())
	})

	t.Run("socks", func(t *testing.T) {
		for _, addr := range []string{n.SOCKSAddr(), socks} {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatalf("dial SOCKS port %s: %v", addr, err)
			}
			c.Close()
		}
	})

	t.Run("close", func(t *testing.T) {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(n.Dir()); !os.IsNotExist(err) {
			t.Errorf("after Close, stat %s: got %v, want not-exist", n.Dir(), err)
		}
		if _, err := n.NewClient(ctx, nil); err == nil {
			t.Error("NewClient after Close: got nil error")
		}
	})
}

func countPrefix(lines []string, prefix string) int {
	c := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			c++
		}
	}
	return c
}
