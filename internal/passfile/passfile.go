// Package passfile owns the one way Candor's commands read a passphrase from a file
// (--passphrase-file): the whole file, less one trailing line end, must be the passphrase.
//
// No error contains the file's content.
package passfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSize bounds a passphrase file, so that a wrong path (a disk image, a device) is refused
// rather than read into memory.
const MaxSize = 4096

// Errors of Read, wrapped with the file name.
var (
	// ErrEmpty: the file holds no passphrase.
	ErrEmpty = errors.New("the passphrase file is empty")
	// ErrTooLarge: the file is larger than MaxSize.
	ErrTooLarge = errors.New("the passphrase file is too large to be a passphrase file")
	// ErrLines: the file holds more than one line, so which part is the passphrase is unclear.
	ErrLines = errors.New("the passphrase file holds more than one line; put only the passphrase in it")
)

// Read returns the passphrase in the file at path: its bytes without one trailing "\n" or
// "\r\n". It refuses an empty passphrase (ErrEmpty), a file over MaxSize bytes (ErrTooLarge) and
// a line end anywhere else (ErrLines). The caller should clear the returned slice when done.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase file %s: %w", path, err)
	}
	p, err := Parse(b)
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return p, nil
}

// Parse applies Read's rules to the content of a passphrase file.
func Parse(b []byte) ([]byte, error) {
	if len(b) > MaxSize {
		return nil, ErrTooLarge
	}
	p := bytes.TrimSuffix(b, []byte("\n"))
	p = bytes.TrimSuffix(p, []byte("\r"))
	switch {
	case len(p) == 0:
		return nil, ErrEmpty
	case bytes.ContainsAny(p, "\r\n"):
		return nil, ErrLines
	}
	return p, nil
}
