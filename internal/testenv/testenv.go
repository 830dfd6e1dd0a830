// Package testenv finds the external tools that Candor's end-to-end tests use: tor, Chromium, the stock
// age CLI, gpg and axe-core.
//
// When a tool is missing, the test is skipped with a one-line install hint — unless CANDOR_CI=1 is set
// (as .ci/run does), in which case the test fails: nothing may be skipped in CI.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Tor returns the path of the tor binary.
func Tor(t testing.TB) string { return lookPath(t, "tor", "apt-get install tor") }

// Chromium returns the path of the Chromium binary.
func Chromium(t testing.TB) string {
	return lookPath(t, "chromium", "apt-get install chromium chromium-driver")
}

// Age returns the path of the stock age CLI.
func Age(t testing.TB) string {
	return lookPath(t, "age", "go install filippo.io/age/cmd/...@v1.3.2")
}

// Gpg returns the path of gpg.
func Gpg(t testing.TB) string { return lookPath(t, "gpg", "apt-get install gnupg") }

// Wrk returns the path of wrk.
func Wrk(t testing.TB) string { return lookPath(t, "wrk", "apt-get install wrk") }

// AxeScript returns the path of axe.min.js from tools/axe.
func AxeScript(t testing.TB) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "tools", "axe", "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(p); err != nil {
		missing(t, "axe-core", "cd tools/axe && npm ci")
	}
	return p
}

// RepoRoot returns the repository's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// InCI reports whether the tests run under .ci/run, where no test may be skipped for a missing tool.
func InCI() bool { return os.Getenv("CANDOR_CI") == "1" }

func lookPath(t testing.TB, name, hint string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, "go", "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	missing(t, name, hint)
	return ""
}

func missing(t testing.TB, name, hint string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required in CI but missing (install: %s)", name, hint)
	}
	t.Skipf("%s not found; install it to run this test: %s", name, hint)
}
