// Package progress owns the progress line that long reads (imports, exports, pulls, pushes,
// backups) show on a terminal: "\rWHAT: N MiB", then "\rWHAT: N MiB, done\n" at the end. Piped or
// redirected output gets nothing.
package progress

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Step is how many bytes pass between two updates of the line.
const Step = 4 << 20

// Terminal returns w if it is a terminal, and nil otherwise: pass the result as NewReader's w so
// that progress shows only where a person watches.
func Terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return w
	}
	return nil
}

// NewReader returns r wrapped so that reading it reports progress to w, labelled what; with a
// nil w it returns r itself. The reader is not safe for concurrent use.
func NewReader(r io.Reader, w io.Writer, what string) io.Reader {
	if w == nil {
		return r
	}
	return &reader{r: r, w: w, what: what}
}

type reader struct {
	r       io.Reader
	w       io.Writer
	what    string
	n, next int64
	done    bool
}

func (p *reader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n >= p.next && !p.done {
		fmt.Fprintf(p.w, "\r%s: %d MiB", p.what, p.n>>20)
		p.next = p.n + Step
	}
	if errors.Is(err, io.EOF) && !p.done {
		p.done = true
		fmt.Fprintf(p.w, "\r%s: %d MiB, done\n", p.what, p.n>>20)
	}
	return n, err
}
