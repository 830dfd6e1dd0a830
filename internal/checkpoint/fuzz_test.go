package checkpoint

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func FuzzParseText(f *testing.F) {
	f.Add([]byte("candor.invalid/x/epoch-1\n42\n" + tlog.Hash{9}.String() + "\n"))
	f.Add([]byte("o\n0\n" + tlog.Hash{}.String() + "\next\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseText(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		got, err := c.Text()
		if err != nil {
			t.Fatalf("parsed checkpoint does not encode: %v", err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("round trip: %q became %q", b, got)
		}
	})
}

func FuzzOpen(f *testing.F) {
	s := newTestSigner(f, testOrigin)
	lv := newTestLogVerifier(f, s)
	w := newTestWitness(f, "w.example/w")
	msg, _ := s.Sign(testCheckpoint(12))
	f.Add(append(bytes.Clone(msg), w.cosign(f, msg)...))
	f.Add(msg)
	f.Add([]byte("x\n\n— a AAAAAAA=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Open(b, lv, []*CosignatureVerifier{w.v}, 0)
		if err != nil {
			return
		}
		// Whatever opened is a canonical checkpoint signed by the log.
		text, err := v.Checkpoint.Text()
		if err != nil || !bytes.Equal(text, v.Text) || !bytes.HasPrefix(b, text) {
			t.Fatalf("opened note text %q does not re-encode (%q, %v)", v.Text, text, err)
		}
	})
}

func FuzzSignOpen(f *testing.F) {
	s := newTestSigner(f, testOrigin)
	lv := newTestLogVerifier(f, s)
	w := newTestWitness(f, "w.example/w")
	f.Add(int64(0), []byte{}, "")
	f.Add(int64(1)<<50, []byte{1, 2, 3}, "ext line")
	f.Fuzz(func(t *testing.T, size int64, hash []byte, ext string) {
		c := &Checkpoint{Origin: testOrigin, Size: size}
		copy(c.Hash[:], hash)
		if ext != "" {
			c.Extensions = []string{ext}
		}
		msg, err := s.Sign(c)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		msg = append(msg, w.cosign(t, msg)...)
		v, err := Open(msg, lv, []*CosignatureVerifier{w.v}, 1)
		if err != nil {
			t.Fatalf("signed checkpoint does not open: %v", err)
		}
		if !reflect.DeepEqual(&v.Checkpoint, c) {
			t.Fatalf("got %+v, want %+v", v.Checkpoint, c)
		}
	})
}
