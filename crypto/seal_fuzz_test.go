package crypto

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// ageSeeds returns the age files under testdata (made with the stock age CLI to
// testdata/fuzz-identity.txt) and two made by Seal, the way reviewers' replies are: the real
// inputs SplitHeader and Open see in pushed outboxes and imported bundles.
func ageSeeds(f *testing.F, id age.Identity, r age.Recipient) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.age"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed files in testdata: %v", err)
	}
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, plain := range []string{"", "a reply from a reviewer\n"} {
		h, p := seal(f, []byte(plain), r)
		seeds = append(seeds, append(h, p...))
	}
	return seeds
}

func fuzzIdentity(f *testing.F) *age.HybridIdentity {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz-identity.txt"))
	if err != nil {
		f.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil || len(ids) != 1 {
		f.Fatalf("testdata/fuzz-identity.txt: %v", err)
	}
	return ids[0].(*age.HybridIdentity)
}

// checkNoEcho fails if err's text repeats a token of in that is 16 bytes or longer (a stanza
// argument, a body line, a pasted key): errors about untrusted age files have fixed texts.
func checkNoEcho(t *testing.T, err error, in []byte) {
	t.Helper()
	msg := err.Error()
	for _, tok := range strings.FieldsFunc(string(in), func(r rune) bool { return r == ' ' || r == '\n' }) {
		if len(tok) >= 16 && tok != strings.TrimSpace(ageIntro) && strings.Contains(msg, tok) {
			t.Fatalf("error %q repeats %q from the input", msg, tok)
		}
	}
}

// FuzzSplitHeader: SplitHeader never panics; it fails only with ErrInvalidHeader and a fixed
// text; on success the header is one whole age header (what Open accepts), header ‖ rest gives
// back the input, and splitting the joined file again gives the same header.
func FuzzSplitHeader(f *testing.F) {
	id := fuzzIdentity(f)
	for _, s := range ageSeeds(f, id, id.Recipient()) {
		f.Add(s)
	}
	f.Add([]byte(ageIntro + "--- \n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		header, rest, err := SplitHeader(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalidHeader) {
				t.Fatalf("error %v does not wrap ErrInvalidHeader", err)
			}
			checkNoEcho(t, err, in)
			return
		}
		if err := checkHeader(header); err != nil {
			t.Fatalf("SplitHeader returned a header Open refuses: %v", err)
		}
		payload, err := io.ReadAll(rest)
		if err != nil {
			t.Fatal(err)
		}
		if joined := append(bytes.Clone(header), payload...); !bytes.Equal(joined, in) {
			t.Fatalf("header ‖ payload != input")
		}
		again, _, err := SplitHeader(bytes.NewReader(in))
		if err != nil || !bytes.Equal(again, header) {
			t.Fatalf("second split differs: %v", err)
		}
	})
}

// FuzzOpen: opening a pushed age file (split by SplitHeader, or taken whole as a header) and
// reading it to the end never panics, and every error has a fixed text that repeats nothing of
// the input. A file whose header was not altered decrypts with the seed identity.
func FuzzOpen(f *testing.F) {
	id := fuzzIdentity(f)
	for _, s := range ageSeeds(f, id, id.Recipient()) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		header, rest, err := SplitHeader(bytes.NewReader(in))
		if err != nil {
			header, rest = in, bytes.NewReader(nil)
		}
		r, err := Open(header, rest, id)
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if err != nil {
			checkNoEcho(t, err, in)
		}
	})
}
