// Package candor_test holds repository-wide checks: the dependency rules of docs/architecture.md.
package candor_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRules enforces the direction of dependencies: the offline inbox links no networking
// code at all, and the HTTP server never imports the onion package (main hands it listeners).
func TestDependencyRules(t *testing.T) {
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"./cmd/candor-inbox", []string{"net", "net/http", "crypto/tls", "os/exec", "candor/server", "candor/onion", "github.com/valyala/fasthttp", "github.com/gofiber/fiber/v2", "github.com/cretz/bine/tor"}},
		{"./inbox", []string{"net", "net/http", "crypto/tls", "os/exec", "candor/server", "candor/onion"}},
		{"./server", []string{"candor/onion", "candor/inbox"}},
		{"./internal/...", []string{"candor/crypto", "candor/server", "candor/onion", "net/http"}},
		{"./crypto", []string{"net/http", "candor/server"}},
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
