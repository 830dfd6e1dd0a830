package frame

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

type testPart struct {
	kind        Kind
	name, ctype string
	body        []byte
}

func marshal(t testing.TB, parts []testPart) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, p := range parts {
		pw, err := w.Part(p.kind, p.name, p.ctype)
		if err != nil {
			t.Fatalf("Part(%v, %q): %v", p.kind, p.name, err)
		}
		if _, err := pw.Write(p.body); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// parse reads a whole stream into memory.
func parse(b []byte) ([]testPart, error) {
	r := NewReader(bytes.NewReader(b))
	var parts []testPart
	for {
		p, err := r.Next()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		if p.Length != int64(len(body)) {
			return nil, fmt.Errorf("Length = %d, body has %d", p.Length, len(body))
		}
		parts = append(parts, testPart{p.Kind, p.Name, p.ContentType, body})
	}
}

func equalParts(a, b []testPart) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].kind != b[i].kind || a[i].name != b[i].name || a[i].ctype != b[i].ctype || !bytes.Equal(a[i].body, b[i].body) {
			return false
		}
	}
	return true
}

func vectors() [][]testPart {
	big := bytes.Repeat([]byte("0123456789abcdef"), ChunkSize/16*2+5)
	return [][]testPart{
		nil,
		{{KindMessage, "", "text/plain; charset=utf-8", []byte("The director signs off his brother's invoices.\n")}},
		{
			{KindMessage, "", "text/plain; charset=utf-8", []byte("Siehe Anhang — Grüße")},
			{KindAnswers, "", "text/plain; charset=utf-8", []byte("department: procurement\nsince: 2024\n")},
			{KindFile, "invoice 2024-03.pdf", "application/pdf", []byte("%PDF-1.7\n...")},
			{KindFile, "empty.txt", "", nil},
			{KindFile, "big.bin", "application/octet-stream", big},
			{KindFile, "exact.bin", "application/octet-stream", big[:ChunkSize]},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	for i, parts := range vectors() {
		b := marshal(t, parts)
		if got, want := int64(len(b)), PaddedSize(int64(len(b))); got != want {
			t.Errorf("vector %d: length %d is not a bucket (want %d)", i, got, want)
		}
		got, err := parse(b)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if !equalParts(got, parts) {
			t.Errorf("vector %d: parts differ after a round trip", i)
		}
	}
}

func TestSkipUnreadBody(t *testing.T) {
	parts := vectors()[2]
	r := NewReader(bytes.NewReader(marshal(t, parts)))
	n := 0
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != parts[n].name {
			t.Errorf("part %d: got name %q, want %q", n, p.Name, parts[n].name)
		}
		n++
	}
	if n != len(parts) {
		t.Errorf("got %d parts, want %d", n, len(parts))
	}
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name        string
		kind        Kind
		pname, ctyp string
		want        error
	}{
		{"kind zero", 0, "", "", ErrMalformed},
		{"kind 4", 4, "", "", ErrMalformed},
		{"long name", KindFile, strings.Repeat("a", 256), "", ErrInvalidName},
		{"nul in name", KindFile, "a\x00b", "", ErrInvalidName},
		{"newline in name", KindFile, "a\nb", "", ErrInvalidName},
		{"C1 in name", KindFile, "a\u0085b", "", ErrInvalidName},
		{"bad utf8 name", KindFile, "a\xffb", "", ErrInvalidName},
		{"long ctype", KindFile, "", strings.Repeat("a", 128), ErrInvalidName},
		{"ctype non-ascii", KindFile, "", "text/é", ErrInvalidName},
		{"ctype tab", KindFile, "", "text/plain;\tx", ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter(io.Discard)
			if _, err := w.Part(tt.kind, tt.pname, tt.ctyp); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("max name ok", func(t *testing.T) {
		w := NewWriter(io.Discard)
		if _, err := w.Part(KindFile, strings.Repeat("é", 127)+"a", strings.Repeat("a", 127)); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
}

func TestWriterTextAndLimits(t *testing.T) {
	w := NewWriter(io.Discard)
	pw, _ := w.Part(KindMessage, "", "")
	if _, err := pw.Write([]byte("ok \xe2\x82")); err != nil {
		t.Fatalf("partial rune rejected early: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrInvalidText) {
		t.Errorf("Close with a dangling rune: got %v, want ErrInvalidText", err)
	}

	w = NewWriter(io.Discard)
	pw, _ = w.Part(KindAnswers, "", "")
	if _, err := pw.Write([]byte("a: \xff\n")); !errors.Is(err, ErrInvalidText) {
		t.Errorf("got %v, want ErrInvalidText", err)
	}

	w = NewWriter(io.Discard)
	for i := 0; i < MaxParts; i++ {
		if _, err := w.Part(KindFile, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Part(KindFile, "", ""); !errors.Is(err, ErrTooManyParts) {
		t.Errorf("part %d: got %v, want ErrTooManyParts", MaxParts+1, err)
	}

	w = NewWriter(io.Discard)
	pw, _ = w.Part(KindFile, "", "")
	w.Part(KindFile, "", "")
	if _, err := pw.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("write to a finished part: got %v, want ErrClosed", err)
	}
	w.Close()
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: got %v, want ErrClosed", err)
	}
}

// raw builds an unpadded stream body from records and pads it as the writer would.
func raw(pad bool, recs ...string) []byte {
	b := []byte(magic + strings.Join(recs, ""))
	if pad {
		b = append(b, make([]byte, PaddedSize(int64(len(b)))-int64(len(b)))...)
	}
	return b
}

func u32(n uint32) string { return string([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) }
func u64(n uint64) string { return u32(uint32(n>>32)) + u32(uint32(n)) }

func TestReaderRejects(t *testing.T) {
	full := strings.Repeat("x", ChunkSize)
	hdr := "\x01\x03\x01a\x00"
	good := raw(true, hdr, "\x02"+u32(2)+"hi", "\x03"+u64(2), "\x04")
	if _, err := parse(good); err != nil {
		t.Fatalf("hand-built stream: %v", err)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrVersion},
		{"v2", []byte("candor-frame/v2\n\x04"), ErrVersion},
		{"no end", raw(false, hdr, "\x03"+u64(0)), ErrTruncated},
		{"cut in chunk", raw(false, hdr, "\x02"+u32(4)+"hi"), ErrTruncated},
		{"cut padding", good[:len(good)-1], ErrTruncated},
		{"padding short", good[:len(good)-1], ErrPadding},
		{"trailing", append(bytes.Clone(good), 0), ErrPadding},
		{"nonzero pad", append(good[:len(good)-1:len(good)-1], 1), ErrPadding},
		{"unpadded", raw(false, hdr, "\x02"+u32(2)+"hi", "\x03"+u64(2), "\x04"), ErrPadding},
		{"bad tag", raw(true, "\x05"), ErrMalformed},
		{"zero tag", raw(true, "\x00"), ErrMalformed},
		{"kind 0", raw(true, "\x01\x00\x00\x00", "\x03"+u64(0), "\x04"), ErrMalformed},
		{"kind 9", raw(true, "\x01\x09\x00\x00", "\x03"+u64(0), "\x04"), ErrMalformed},
		{"ctrl in name", raw(true, "\x01\x03\x01\x07\x00", "\x03"+u64(0), "\x04"), ErrInvalidName},
		{"long ctype", raw(true, "\x01\x03\x00\x80"+strings.Repeat("a", 128), "\x03"+u64(0), "\x04"), ErrInvalidName},
		{"zero chunk", raw(true, hdr, "\x02"+u32(0), "\x03"+u64(0), "\x04"), ErrMalformed},
		{"huge chunk", raw(true, hdr, "\x02"+u32(ChunkSize+1)), ErrMalformed},
		{"short then more", raw(true, hdr, "\x02"+u32(1)+"a", "\x02"+u32(1)+"b", "\x03"+u64(2), "\x04"), ErrMalformed},
		{"full then short ok?", raw(true, hdr, "\x02"+u32(ChunkSize)+full, "\x02"+u32(1)+"b", "\x03"+u64(ChunkSize+1), "\x04"), nil},
		{"trailer mismatch", raw(true, hdr, "\x02"+u32(2)+"hi", "\x03"+u64(3), "\x04"), ErrMalformed},
		{"end inside part", raw(true, hdr, "\x04"), ErrMalformed},
		{"chunk outside part", raw(true, "\x02"+u32(1)+"a", "\x04"), ErrMalformed},
		{"bad utf8 message", raw(true, "\x01\x01\x00\x00", "\x02"+u32(1)+"\xff", "\x03"+u64(1), "\x04"), ErrInvalidText},
		{"dangling rune", raw(true, "\x01\x02\x00\x00", "\x02"+u32(1)+"\xe2", "\x03"+u64(1), "\x04"), ErrInvalidText},
		{"surrogate", raw(true, "\x01\x01\x00\x00", "\x02"+u32(3)+"\xed\xa0\x80", "\x03"+u64(3), "\x04"), ErrInvalidText},
		{"too many parts", raw(true, strings.Repeat("\x01\x03\x00\x00\x03"+u64(0), MaxParts+1), "\x04"), ErrTooManyParts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.in)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestErrorsHoldNoContent(t *testing.T) {
	secret := "Kickbacks-from-ACME"
	b := marshal(t, []testPart{{KindFile, secret + ".pdf", "application/pdf", []byte(secret)}})
	for i := 0; i < len(b); i++ {
		for _, c := range []byte{0x00, 0x07, 0xff} {
			m := bytes.Clone(b)
			m[i] = c
			if _, err := parse(m); err != nil && strings.Contains(err.Error(), "ACME") {
				t.Fatalf("error reveals content: %v", err)
			}
		}
	}
	w := NewWriter(io.Discard)
	if _, err := w.Part(KindFile, secret+"\n", ""); err == nil || strings.Contains(err.Error(), "ACME") {
		t.Errorf("got %v, want an error without the name", err)
	}
}

func TestPaddedSize(t *testing.T) {
	check := func(n int64) {
		p := PaddedSize(n)
		if p < n || (n >= 2 && p >= 2*n) {
			t.Fatalf("PaddedSize(%d) = %d", n, p)
		}
		if over := float64(p-n) / float64(n); over > 0.1163 {
			t.Fatalf("PaddedSize(%d) = %d: overhead %.4f > 11.63%%", n, p, over)
		} else if n >= 256 && over >= 0.063 || n >= 65536 && over >= 0.032 {
			t.Fatalf("PaddedSize(%d) = %d: overhead %.4f above the documented bound", n, p, over)
		}
		if PaddedSize(p) != p {
			t.Fatalf("PaddedSize(%d) = %d is not a fixed point", n, p)
		}
	}
	prev := int64(0)
	for n := int64(1); n <= 1<<20; n++ {
		check(n)
		if p := PaddedSize(n); p < prev {
			t.Fatalf("not monotonic at %d", n)
		} else {
			prev = p
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		check(1 + rng.Int64N(1<<uint(20+rng.IntN(42))))
	}
	if got, want := PaddedSize(129), int64(144); got != want {
		t.Errorf("PaddedSize(129) = %d, want %d", got, want)
	}
	if got := PaddedSize(1<<63 - 1); got != 1<<63-1 {
		t.Errorf("PaddedSize(MaxInt64) = %d", got)
	}
}

func TestTextCheckSplits(t *testing.T) {
	inputs := []string{"héllo wörld €𝄞", "a\xffb", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "€\xe2\x82\xac", "\xc0\xaf"}
	for _, s := range inputs {
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				var c textCheck
				err := c.write([]byte(s[:i]))
				if err == nil {
					err = c.write([]byte(s[i:j]))
				}
				if err == nil {
					err = c.write([]byte(s[j:]))
				}
				if err == nil {
					err = c.close()
				}
				if got, want := err == nil, utf8.ValidString(s); got != want {
					t.Errorf("%q split at %d,%d: valid = %v, want %v", s, i, j, got, want)
				}
			}
		}
	}
}

func FuzzFrame(f *testing.F) {
	// Seeds: the small real vectors (multi-chunk parts are covered by TestReaderRejects;
	// 64 KiB seeds make the fuzzer's minimisation crawl).
	for _, parts := range vectors()[:2] {
		f.Add(marshal(f, parts))
	}
	small := vectors()[2][:4]
	f.Add(marshal(f, small))
	f.Add(raw(false, "\x01\x01\x00\x00", "\x02"+u32(3)+"abc", "\x03"+u64(3), "\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Arbitrary bytes, and the same bytes padded to their bucket (mutations rarely keep
		// the exact padding length, which would hide everything before it).
		for _, in := range [][]byte{b, append(bytes.Clone(b), make([]byte, PaddedSize(int64(len(b)))-int64(len(b)))...)} {
			parts, err := parse(in)
			if err != nil {
				continue
			}
			if out := marshal(t, parts); !bytes.Equal(out, in) {
				t.Fatalf("Marshal(Parse(b)) != b\n in: %q\nout: %q", in, out)
			}
		}
	})
}

// BenchmarkWrite frames a 256 MiB file body into io.Discard in 4000-byte writes (the size a
// multipart reader tends to deliver), so every byte is copied through the chunk buffer.
func BenchmarkWrite(b *testing.B) {
	const size = 256 << 20
	chunk := make([]byte, 4000)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		w := NewWriter(io.Discard)
		pw, _ := w.Part(KindFile, "big.bin", "application/octet-stream")
		for n := 0; n < size; n += len(chunk) {
			pw.Write(chunk[:min(len(chunk), size-n)])
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip frames 256 MiB through an io.Pipe and reads it back with a Reader.
func BenchmarkRoundTrip(b *testing.B) {
	const size = 256 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	buf := make([]byte, 1<<20)
	for b.Loop() {
		pr, pw := io.Pipe()
		go func() {
			w := NewWriter(pw)
			p, _ := w.Part(KindFile, "big.bin", "application/octet-stream")
			chunk := make([]byte, 1<<20)
			for i := 0; i < size/len(chunk); i++ {
				p.Write(chunk)
			}
			pw.CloseWithError(w.Close())
		}()
		r := NewReader(pr)
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf)
		if err != nil || n != size {
			b.Fatalf("read %d, %v", n, err)
		}
		if _, err := r.Next(); err != io.EOF {
			b.Fatalf("Next = %v, want io.EOF", err)
		}
	}
}
