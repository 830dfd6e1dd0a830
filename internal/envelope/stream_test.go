package envelope

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzOutboxReader: whatever OutboxReader accepts, each signed slice it returns is exactly the
// envelope's SignedMessage (so VerifySigned checks what Verify checks), and it accepts exactly what
// ReadOutbox accepts.
func FuzzOutboxReader(f *testing.F) {
	f.Add(outbox(f, vectors(f)))
	f.Add(outbox(f, vectors(f)[1:3]))
	f.Add(outbox(f, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, whole := ReadOutbox(bytes.NewReader(b), 100, 1<<20)
		or, err := NewOutboxReader(bytes.NewReader(b), 100, 1<<20)
		for err == nil {
			var e *Envelope
			var signed []byte
			e, signed, err = or.Next()
			if err != nil {
				break
			}
			want, merr := e.SignedMessage()
			if merr != nil || !bytes.Equal(signed, want) {
				t.Fatalf("signed slice differs from SignedMessage (%v)", merr)
			}
		}
		if err == io.EOF {
			err = nil
		}
		if (err == nil) != (whole == nil) {
			t.Fatalf("OutboxReader: %v; ReadOutbox: %v", err, whole)
		}
	})
}

func TestVerifySigned(t *testing.T) {
	ob := outbox(t, vectors(t))
	or, err := NewOutboxReader(bytes.NewReader(ob), 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for {
		e, signed, err := or.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifySigned(e, signed, newTestKey(1)); err != nil {
			t.Errorf("VerifySigned: %v", err)
		}
		bad := bytes.Clone(signed)
		bad[len(bad)-1] ^= 1
		if err := VerifySigned(e, bad, newTestKey(1)); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifySigned over altered bytes: %v, want ErrBadSignature", err)
		}
	}
}
