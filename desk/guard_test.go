package desk

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"candor/frontend"
)

// TestRefusals sends, to a real desk on 127.0.0.1, requests that must be refused — without the
// secret, with a foreign Host (DNS rebinding), cross-origin POSTs — and checks each status and
// that the inbox did not change. The same POST with the right headers then succeeds, so the test
// can fail.
func TestRefusals(t *testing.T) {
	w := newWorld(t)
	w.report("The warehouse manager sells stock privately.")
	r := startDesk(t, w.home, true)
	r.importBundle(t, w)
	id := r.onlyCase(t)
	origin := "Origin: http://" + r.host
	root := "http://" + r.host
	status := r.url + "case/" + id + "/status"
	tests := []struct {
		name, method, url, body string
		headers                 []string
		want                    int
	}{
		{"no secret", "GET", root + "/cases", "", nil, 403},
		{"no secret, root", "GET", root + "/", "", nil, 403},
		{"wrong secret", "POST", root + "/s/" + strings.Repeat("A", 32) + "/case/" + id + "/status", "status=closed&outcome=referred", []string{origin}, 403},
		{"secret prefix only", "GET", r.url[:len(r.url)-3] + "/cases", "", nil, 403},
		{"foreign Host", "GET", r.url + "cases", "", []string{"Host: evil.example"}, 421},
		{"foreign Host with our port", "POST", status, "status=closed&outcome=referred", []string{"Host: evil.example:" + port(r.host), "Origin: http://evil.example:" + port(r.host)}, 421},
		{"localhost Host", "GET", r.url + "cases", "", []string{"Host: localhost:" + port(r.host)}, 421},
		{"foreign Host on static", "GET", root + "/static/candor.css", "", []string{"Host: rebind.example"}, 421},
		{"cross-origin POST (Origin)", "POST", status, "status=closed&outcome=referred", []string{"Origin: http://evil.example"}, 403},
		{"cross-origin POST (Origin null)", "POST", status, "status=closed&outcome=referred", []string{"Origin: null"}, 403},
		{"cross-origin POST (other loopback port)", "POST", status, "status=closed&outcome=referred", []string{"Origin: http://127.0.0.1:1"}, 403},
		{"cross-origin POST (Sec-Fetch-Site)", "POST", status, "status=closed&outcome=referred", []string{origin, "Sec-Fetch-Site: cross-site"}, 403},
		{"same-site POST (another port)", "POST", status, "status=closed&outcome=referred", []string{"Sec-Fetch-Site: same-site"}, 403},
		{"POST with neither Origin nor Sec-Fetch-Site", "POST", status, "status=closed&outcome=referred", nil, 403},
		{"cross-site GET", "GET", r.url + "case/" + id, "", []string{"Sec-Fetch-Site: cross-site"}, 403},
		{"lock without origin", "POST", r.url + "lock", "", nil, 403},
		{"cross-origin note", "POST", r.url + "case/" + id + "/note", "note=x", []string{"Origin: http://evil.example"}, 403},
		{"cross-origin assign", "POST", r.url + "case/" + id + "/assign", "who=me", []string{"Origin: http://evil.example"}, 403},
		{"cross-origin share", "POST", r.url + "case/" + id + "/share", "who=x", []string{"Origin: http://evil.example"}, 403},
		{"cross-origin delete", "POST", r.url + "case/" + id + "/delete", "confirm=yes&reason=spam", []string{"Origin: http://evil.example"}, 403},
		{"delete without secret", "POST", root + "/case/" + id + "/delete", "confirm=yes&reason=spam", []string{origin}, 403},
		{"note, foreign Host", "POST", r.url + "case/" + id + "/note", "note=x", []string{"Host: evil.example:" + port(r.host), "Origin: http://evil.example:" + port(r.host)}, 421},
	}
	before := r.state(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body, h := do(t, tt.method, tt.url, tt.body, tt.headers...)
			if got != tt.want {
				t.Errorf("got status %d, want %d", got, tt.want)
			}
			checkHeaders(t, h)
			if strings.Contains(body, r.d.secret) {
				t.Errorf("the refusal page holds the secret")
			}
			if after := r.state(t); after != before {
				t.Errorf("the inbox changed: %+v, was %+v", after, before)
			}
			if r.d.Locked() {
				t.Errorf("a refused request locked the desk")
			}
		})
	}
	if got, _, _ := do(t, "POST", status, "status=closed&outcome=referred", origin); got != 303 {
		t.Fatalf("the same POST from the desk's own origin: got %d, want 303", got)
	}
	if got, _, _ := do(t, "POST", r.url+"case/"+id+"/hold", "hold=on", "Sec-Fetch-Site: same-origin"); got != 303 {
		t.Fatalf("a same-origin POST without Origin: got %d, want 303", got)
	}
	if after := r.state(t); after.pending != before.pending+2 {
		t.Errorf("got %d envelopes pending, want %d", after.pending, before.pending+2)
	}
}

func port(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

func checkHeaders(t *testing.T, h map[string][]string) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": frontend.ContentSecurityPolicy,
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for k, v := range want {
		if got := strings.Join(h[k], ", "); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(frontend.ContentSecurityPolicy, "frame-ancestors 'none'") || strings.Contains(frontend.ContentSecurityPolicy, "script") {
		t.Errorf("the policy allows scripts or framing: %s", frontend.ContentSecurityPolicy)
	}
}

// TestIdleLock moves the desk's clock past the idle time: the keys are wiped, a POST is refused
// and changes nothing, a GET leads to the unlock page, and only the passphrase unlocks again.
func TestIdleLock(t *testing.T) {
	w := newWorld(t)
	w.report("Invoices are split to stay under the approval limit.")
	r := startDesk(t, w.home, true)
	r.importBundle(t, w)
	id := r.onlyCase(t)
	origin := "Origin: http://" + r.host
	if got, body, _ := do(t, "GET", r.url+"case/"+id, ""); got != 200 || !strings.Contains(body, "approval limit") {
		t.Fatalf("case page before the lock: status %d", got)
	}
	r.clock.Add(9 * time.Minute)
	if r.d.Locked() {
		t.Fatal("locked before the idle time")
	}
	r.clock.Add(10 * time.Minute) // 10 minutes after the last request
	before := r.state(t)
	got, body, _ := do(t, "POST", r.url+"case/"+id+"/status", "status=closed&outcome=referred", origin)
	if got != 403 || !strings.Contains(body, `id="passphrase"`) {
		t.Errorf("POST after the idle lock: got %d, want 403 and the unlock form", got)
	}
	if !r.d.Locked() || r.d.in.Unlocked() {
		t.Fatal("the keys were not wiped")
	}
	if after := r.state(t); after != before {
		t.Errorf("the inbox changed: %+v, was %+v", after, before)
	}
	if _, err := r.d.in.Identity(); !errors.Is(err, errLocked) {
		t.Errorf("the inbox still decrypts while locked: %v", err)
	}
	for _, path := range []string{"case/" + id, "cases", "case/" + id + "/file/00/1", "outbox"} {
		got, body, h := do(t, "GET", r.url+path, "")
		if got != 303 || h.Get("Location") != r.d.base()+"/unlock" || strings.Contains(body, "approval limit") {
			t.Errorf("GET %s while locked: got %d to %q, want 303 to the unlock page", path, got, h.Get("Location"))
		}
	}
	if got, _, _ := do(t, "POST", r.url+"unlock", "passphrase=wrong", origin); got != 403 || !r.d.Locked() {
		t.Errorf("a wrong passphrase: got %d, locked %v; want 403, locked", got, r.d.Locked())
	}
	if got, _, _ := do(t, "POST", r.url+"unlock", "passphrase="+strings.ReplaceAll(pass, " ", "+"), origin); got != 303 || r.d.Locked() {
		t.Fatalf("the right passphrase: got %d, locked %v", got, r.d.Locked())
	}
	if got, _, _ := do(t, "POST", r.url+"lock", "", origin); got != 303 || !r.d.Locked() {
		t.Errorf("lock: got %d, locked %v; want 303, locked", got, r.d.Locked())
	}
}

// TestListenLoopbackOnly: the desk refuses to listen anywhere but on a loopback IP address.
func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "localhost:0", "example.org:80", "127.0.0.1", ""} {
		if ln, err := Listen(addr); !errors.Is(err, ErrNotLoopback) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("Listen(%q): got %v, want ErrNotLoopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.2:0"} {
		ln, err := Listen(addr)
		if err != nil {
			t.Errorf("Listen(%q): %v", addr, err)
			continue
		}
		ln.Close()
	}
}
