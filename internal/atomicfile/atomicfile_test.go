package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "case.html")
	if err := WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "two" {
		t.Fatalf("read %q, %v; want two", b, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q, want only case.html", got)
	}
}

// TestFailureLeavesNothing: a writer that fails half-way leaves neither a new file nor a
// temporary one, and an existing file keeps its old content.
func TestFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("disk gone")
	half := func(w io.Writer) error {
		w.Write(make([]byte, 3<<20)) // more than the buffer: part of it reached the file
		return boom
	}
	path := filepath.Join(dir, "backup.age")
	if err := Write(path, 0o600, half); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("a failed write left %q", got)
	}
	if err := WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, 0o600, half); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("a failed write changed the existing file to %d bytes", len(b))
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q after a failed replace", got)
	}
}

func TestMissingDirectory(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such"), []byte("x"), 0o600); err == nil {
		t.Error("wrote into a missing directory")
	}
}
