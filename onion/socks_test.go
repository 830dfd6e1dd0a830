package onion

import (
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

// TestSOCKSSocket: with Config.SOCKS the service's tor also offers a SOCKS port on a unix socket
// (0700 directory, no TCP port), through which the server's own requests leave via Tor: here it
// reaches the service's own public onion.
func TestSOCKSSocket(t *testing.T) {
	k := newTestKeys(t)
	svc := startService(t, k, nil, func(c *Config) { c.SOCKS = true })
	if fi, err := os.Stat(svc.SOCKSPath()); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no SOCKS socket at %s: %v", svc.SOCKSPath(), err)
	}
	d, err := proxy.SOCKS5("unix", svc.SOCKSPath(), nil, &net.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}}
	deadline := time.Now().Add(120 * time.Second)
	for {
		resp, err := c.Get("http://" + svc.PublicAddr() + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "hello public" {
				t.Fatalf("through the SOCKS socket: %q", b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET the public onion through the SOCKS socket: %v", err)
		}
		time.Sleep(time.Second)
	}
}
