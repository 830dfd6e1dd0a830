package progress

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	var out bytes.Buffer
	data := bytes.Repeat([]byte("x"), 2*Step+1)
	// Read in 1 MiB reads: updates at 1 MiB, then 4 MiB later, then at the end.
	r, buf := NewReader(bytes.NewReader(data), &out, "importing"), make([]byte, 1<<20)
	var got []byte
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("the wrapped reader changed the data")
	}
	lines := strings.Split(out.String(), "\r")
	want := []string{"", "importing: 1 MiB", "importing: 5 MiB", "importing: 8 MiB, done\n"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", lines, want)
	}
	// A second read at EOF does not print "done" again.
	r = NewReader(bytes.NewReader(nil), &out, "x")
	out.Reset()
	io.ReadAll(r)
	r.Read(make([]byte, 1))
	if strings.Count(out.String(), "done") != 1 {
		t.Errorf("got %q, want one done line", out.String())
	}
}

func TestQuietWhenNotATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w := Terminal(f); w != nil {
		t.Fatalf("Terminal(a regular file) = %v, want nil", w)
	}
	if w := Terminal(&bytes.Buffer{}); w != nil {
		t.Fatalf("Terminal(a buffer) = %v, want nil", w)
	}
	src := strings.NewReader("data")
	if r := NewReader(src, Terminal(f), "x"); r != io.Reader(src) {
		t.Errorf("NewReader with no terminal wrapped the reader")
	}
}
