// Package candortest is the test harness shared by the tests of e2e/, reliability/, cmd/ and
// server/: it builds Candor's binaries once per test process, makes reviewers (an age identity, a
// signing key and their card, optionally written to a file), encodes multipart bodies as browsers
// and hostile clients send them, and starts servers — in-process on a loopback listener, or as the
// candor binary with --dev-listen. It is for tests only and never imports candor/server (so the
// server's own tests can use it); server/synctest builds on it.
package candortest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"candor/internal/testenv"
)

// builds caches the binaries built by this test process: package path and flags → file.
type builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string
}

// cache is the one build cache of the test process (a binary takes seconds to link; every test
// of a package shares it).
var cache = &builds{bins: map[string]string{}}

// Candor returns the path of cmd/candor built for this test process.
func Candor(tb testing.TB) string { return Binary(tb, "candor/cmd/candor", false) }

// Binary builds the main package pkg (such as "candor/cmd/candor"), with the race detector if
// race is set, once per test process into a temporary directory, and returns the binary's path.
func Binary(tb testing.TB, pkg string, race bool) string {
	tb.Helper()
	cache.mu.Lock()
	defer cache.mu.Unlock()
	key := pkg
	if race {
		key += " -race"
	}
	if p, ok := cache.bins[key]; ok {
		return p
	}
	if cache.dir == "" {
		d, err := os.MkdirTemp("", "candortest-bin-")
		if err != nil {
			tb.Fatal(err)
		}
		cache.dir = d
	}
	p := filepath.Join(cache.dir, filepath.Base(pkg))
	args := []string{"build", "-o"}
	if race {
		p += "-race"
		args = append(args, p, "-race")
	} else {
		args = append(args, p)
	}
	cmd := exec.Command("go", append(args, pkg)...) // go test puts its own go first on PATH
	cmd.Dir = testenv.RepoRoot(tb)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	cache.bins[key] = p
	return p
}

// RemoveBinaries removes the binaries built so far; call it from TestMain after m.Run.
func RemoveBinaries() {
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cache.dir != "" {
		os.RemoveAll(cache.dir)
	}
	cache.dir, cache.bins = "", map[string]string{}
}
