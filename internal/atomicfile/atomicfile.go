// Package atomicfile writes a file whole or not at all: into a temporary file in the same
// directory, synced, then renamed over the name. A failure at any point removes the temporary
// file and leaves the name as it was. The single files Candor writes for a person to keep go through
// it: backups, case files, outboxes, pulled bundles, inbox keys, tor's key files. (An export of a
// case's files stages several files and renames them together: inbox's exporter.)
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// Write runs fn on a buffered writer over a new temporary file next to path, with mode perm, and
// on success flushes, syncs and renames it to path. If fn or any later step fails, the temporary
// file is removed and the error returned; path is untouched. An existing path is replaced.
func Write(path string, perm os.FileMode, fn func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err = fn(bw); err == nil {
			err = bw.Flush()
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// WriteFile writes data to path as Write does.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
