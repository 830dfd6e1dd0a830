package passfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name, content, want string
		err                 error
	}{
		{"plain", "correct horse", "correct horse", nil},
		{"newline", "correct horse\n", "correct horse", nil},
		{"crlf", "correct horse\r\n", "correct horse", nil},
		{"inner spaces kept", "  two  spaces  \n", "  two  spaces  ", nil},
		{"only one line end stripped", "correct horse\n\n", "", ErrLines},
		{"two lines", "first\nsecond\n", "", ErrLines},
		{"lone CR inside", "a\rb", "", ErrLines},
		{"empty", "", "", ErrEmpty},
		{"only newline", "\n", "", ErrEmpty},
		{"only crlf", "\r\n", "", ErrEmpty},
		{"too large", strings.Repeat("x", MaxSize+1), "", ErrTooLarge},
		{"at the limit", strings.Repeat("x", MaxSize), strings.Repeat("x", MaxSize), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "pass")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Read(p)
			if !errors.Is(err, tt.err) || string(got) != tt.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
			for _, line := range strings.Fields(tt.content) {
				if err != nil && len(line) >= 4 && strings.Contains(err.Error(), line) {
					t.Errorf("error %q repeats the file's content", err)
				}
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want os.ErrNotExist", err)
	}
}
