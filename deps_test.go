// Package candor_test holds repository-wide checks: the dependency rules of docs/architecture.md.
package candor_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRules enforces the direction of dependencies: the offline inbox links no networking
// code at all, the desk (a loopback web UI over the inbox) never dials (no sync client, onion, server
// or case domain) nor runs programs, the reviewer's desk only a loopback HTTP server (its listener refuses any other
// address: desk.TestListenLoopbackOnly, cmd/candor-desk/testdata/listen_loopback.txtar), the HTTP
// server never imports the onion package (main hands it listeners), the admin operations and the
// installation link no HTTP framework, and onion keys need no tor.
func TestDependencyRules(t *testing.T) {
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"./cmd/candor-inbox", []string{"net", "net/http", "crypto/tls", "os/exec", "candor/server", "candor/onion", "github.com/valyala/fasthttp", "github.com/gofiber/fiber/v2", "github.com/cretz/bine/tor"}},
		{"./inbox", []string{"net", "net/http", "crypto/tls", "os/exec", "candor/server", "candor/onion"}},
		{"./server", []string{"candor/onion", "candor/inbox"}},
		// The desk serves loopback HTTP (net/http) but, like the inbox, never dials out: no sync client,
		// no tor, no server code, no processes.
		{"./desk", []string{"os/exec", "candor/server", "candor/cases", "candor/syncclient", "candor/onion", "github.com/gofiber/fiber/v2", "github.com/valyala/fasthttp", "github.com/cretz/bine/tor"}},
		{"./cmd/candor-desk", []string{"os/exec", "candor/server", "candor/cases", "candor/syncclient", "candor/onion", "github.com/gofiber/fiber/v2", "github.com/valyala/fasthttp", "github.com/cretz/bine/tor"}},
		{"./internal/...", []string{"candor/crypto", "candor/server", "candor/onion", "net/http"}},
		{"./crypto", []string{"net/http", "candor/server"}},
		{"./syncclient", []string{"candor/server", "candor/cases", "candor/admin", "github.com/gofiber/fiber/v2"}},
		{"./admin", []string{"github.com/gofiber/fiber/v2", "github.com/valyala/fasthttp", "candor/server", "candor/onion"}},
		{"./installation", []string{"github.com/gofiber/fiber/v2", "github.com/valyala/fasthttp", "candor/server", "candor/admin"}},
		{"./cases", []string{"github.com/gofiber/fiber/v2", "github.com/valyala/fasthttp", "candor/server", "candor/admin", "candor/onion"}},
		{"./desk", []string{"candor/syncclient", "candor/onion", "candor/server", "candor/cases", "os/exec"}},
		{"./cmd/candor-desk", []string{"candor/syncclient", "candor/onion", "candor/server", "candor/cases", "os/exec"}},
		{"./onion/onionkey", []string{"github.com/cretz/bine/tor", "github.com/cretz/bine/control"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", tt.pkg, err, out)
			}
			deps := map[string]bool{}
			for _, d := range strings.Fields(string(out)) {
				deps[d] = true
			}
			for _, f := range tt.forbidden {
				if deps[f] {
					t.Errorf("%s depends on %s", tt.pkg, f)
				}
			}
		})
	}
}
