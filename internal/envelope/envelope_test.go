package envelope

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// testKey is an in-test Ed25519 Signer and Verifier that binds the context like crypto does.
type testKey struct {
	priv ed25519.PrivateKey
}

func newTestKey(seed byte) testKey {
	return testKey{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))}
}

func (k testKey) Sign(ctx string, msg []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, append([]byte(ctx+"\x00"), msg...)), nil
}

func (k testKey) Verify(ctx string, msg, sig []byte) error {
	if !ed25519.Verify(k.priv.Public().(ed25519.PublicKey), append([]byte(ctx+"\x00"), msg...), sig) {
		return errors.New("ed25519: invalid signature")
	}
	return nil
}

var caseID = [16]byte{0xca, 0x5e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}

const fp = "abcd-efgh-ijkl-mnop-qrst-uvwx"

func vectors(t testing.TB) []*Envelope {
	t.Helper()
	envs := []*Envelope{
		{Kind: KindReply, Reviewer: fp, Seq: 1, Case: caseID, Day: 20780,
			Body: []byte(AgeMagic + "-> mlkem768x25519 AAAA\nBBBB\n--- CCCC\n\x01\x02\x03")},
		{Kind: KindStatus, Reviewer: fp, Seq: 2, Case: caseID, Day: 20781, Status: StatusInReview},
		{Kind: KindHold, Reviewer: fp, Seq: 3, Case: caseID, Day: 20781, Hold: true},
		{Kind: KindHold, Reviewer: fp, Seq: 4, Case: caseID, Day: 20782},
		{Kind: KindAck, Reviewer: fp, Seq: 5, Day: 20782, Cursor: 42, TreeSize: 17},
	}
	envs = append(envs, teamVectors(t)...)
	k := newTestKey(1)
	for _, e := range envs {
		if err := Sign(e, k); err != nil {
			t.Fatal(err)
		}
		e.Version = Version
	}
	return envs
}

func TestRoundTripAndVerify(t *testing.T) {
	k := newTestKey(1)
	for _, e := range vectors(t) {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%v: %v", e.Kind, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%v: got %+v, want %+v", e.Kind, got, e)
		}
		if err := Verify(got, k); err != nil {
			t.Errorf("%v: Verify: %v", e.Kind, err)
		}
		if err := Verify(got, newTestKey(2)); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%v: other key: got %v, want ErrBadSignature", e.Kind, err)
		}
		got.Seq++
		if err := Verify(got, k); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%v: changed seq: got %v, want ErrBadSignature", e.Kind, err)
		}
	}
}

func TestInvalid(t *testing.T) {
	base := func() *Envelope {
		return &Envelope{Kind: KindStatus, Reviewer: fp, Seq: 1, Case: caseID, Status: StatusClosed,
			Outcome: OutcomeReferred, Sig: []byte{1}}
	}
	tests := []struct {
		name string
		mod  func(*Envelope)
		want error
	}{
		{"version 1", func(e *Envelope) { e.Version = 1 }, ErrVersion},
		{"version 3", func(e *Envelope) { e.Version = 3 }, ErrVersion},
		{"kind 0", func(e *Envelope) { e.Kind = 0 }, ErrInvalid},
		{"kind 10", func(e *Envelope) { e.Kind = 10 }, ErrInvalid},
		{"no reviewer", func(e *Envelope) { e.Reviewer = "" }, ErrInvalid},
		{"long reviewer", func(e *Envelope) { e.Reviewer = strings.Repeat("a", 65) }, ErrInvalid},
		{"space in reviewer", func(e *Envelope) { e.Reviewer = "a b" }, ErrInvalid},
		{"no case", func(e *Envelope) { e.Case = [16]byte{} }, ErrInvalid},
		{"unknown status", func(e *Envelope) { e.Status = "buried" }, ErrInvalid},
		{"closed without outcome", func(e *Envelope) { e.Outcome = "" }, ErrInvalid},
		{"unknown outcome", func(e *Envelope) { e.Outcome = "dismissed" }, ErrInvalid},
		{"outcome on in-review", func(e *Envelope) { e.Status = StatusInReview }, ErrInvalid},
		{"feedback on status", func(e *Envelope) { e.Feedback = true }, ErrInvalid},
		{"target on status", func(e *Envelope) { e.Target = fp }, ErrInvalid},
		{"commitment on status", func(e *Envelope) { e.Commitment[0] = 1 }, ErrInvalid},
		{"no status", func(e *Envelope) { e.Status = "" }, ErrInvalid},
		{"hold on status", func(e *Envelope) { e.Hold = true }, ErrInvalid},
		{"cursor on status", func(e *Envelope) { e.Cursor = 1 }, ErrInvalid},
		{"body on status", func(e *Envelope) { e.Body = []byte(AgeMagic) }, ErrInvalid},
		{"ack with case", func(e *Envelope) { e.Kind, e.Status = KindAck, "" }, ErrInvalid},
		{"status on hold", func(e *Envelope) { e.Kind = KindHold }, ErrInvalid},
		{"reply not age", func(e *Envelope) { e.Kind, e.Status, e.Body = KindReply, "", []byte("hello") }, ErrInvalid},
		{"reply too big", func(e *Envelope) {
			e.Kind, e.Status, e.Body = KindReply, "", append([]byte(AgeMagic), make([]byte, MaxBodyLen)...)
		}, ErrInvalid},
		{"unsigned", func(e *Envelope) { e.Sig = nil }, ErrUnsigned},
		{"long sig", func(e *Envelope) { e.Sig = make([]byte, MaxSignatureLen+1) }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base()
			tt.mod(e)
			if _, err := e.Marshal(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := vectors(t)[1].Marshal()
	msgLen := len(good) - 2 - 64
	set := func(i int, c byte) []byte { b := bytes.Clone(good); b[i] = c; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrVersion},
		{"other magic", []byte("candor-envelopX\x01"), ErrVersion},
		{"version 1", set(len(magic), 1), ErrVersion},
		{"version 3", set(len(magic), 3), ErrVersion},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing", append(bytes.Clone(good), 0), ErrMalformed},
		{"kind 10", set(len(magic)+1, 10), ErrMalformed},
		{"hold byte 2", set(msgLen-4-32-1-1-1-8-8-1, 2), ErrMalformed},
		{"feedback byte 2", set(msgLen-4-32-1-1, 2), ErrMalformed},
		{"zero sig len", append(bytes.Clone(good[:msgLen]), 0, 0), ErrUnsigned},
		{"huge body len", append(append(bytes.Clone(good[:msgLen-4]), 0xff, 0xff, 0xff, 0xff), good[msgLen:]...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestErrorsHoldNoBody(t *testing.T) {
	e := vectors(t)[0]
	e.Body = append(e.Body, "SECRET-REPLY"...)
	e.Kind = KindStatus
	if _, err := e.SignedMessage(); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("got %v, want an error without the body", err)
	}
}

func outbox(t testing.TB, envs []*Envelope) []byte {
	var buf bytes.Buffer
	if err := WriteOutbox(&buf, envs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOutbox(t *testing.T) {
	envs := vectors(t)
	b := outbox(t, envs)
	got, err := ReadOutbox(iotest.OneByteReader(bytes.NewReader(b)), 100, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, envs) {
		t.Errorf("outbox round trip differs")
	}
	empty := outbox(t, nil)
	if got, err := ReadOutbox(bytes.NewReader(empty), 0, 100); err != nil || len(got) != 0 {
		t.Errorf("empty outbox: got %d, %v", len(got), err)
	}
	dup := []*Envelope{envs[1], envs[1]}
	if err := WriteOutbox(io.Discard, dup); !errors.Is(err, ErrInvalid) {
		t.Errorf("repeated seq: got %v, want ErrInvalid", err)
	}
	tests := []struct {
		name     string
		in       []byte
		maxEnv   int
		maxBytes int64
		want     error
	}{
		{"too many", b, 4, 1 << 20, ErrTooLarge},
		{"too long", b, 100, int64(len(b) - 1), ErrTooLarge},
		{"tiny limit", b, 10, 3, ErrTooLarge},
		{"trailing", append(bytes.Clone(b), 0), 100, 1 << 20, ErrMalformed},
		{"truncated", b[:len(b)-1], 100, 1 << 20, ErrMalformed},
		{"bad magic", append([]byte("candor-outbox/v2\n"), b[17:]...), 10, 1 << 20, ErrVersion},
		{"short", b[:5], 10, 1 << 20, ErrVersion},
		{"repeated seq", func() []byte {
			var buf bytes.Buffer
			one, _ := envs[1].Marshal()
			buf.WriteString(outboxMagic + "\x00\x00\x00\x02")
			for range 2 {
				buf.Write([]byte{0, 0, byte(len(one) >> 8), byte(len(one))})
				buf.Write(one)
			}
			return buf.Bytes()
		}(), 10, 1 << 20, ErrMalformed},
		{"count lies", append([]byte(outboxMagic+"\xff\xff\xff\xff"), b[21:]...), 1 << 40, 1 << 20, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadOutbox(bytes.NewReader(tt.in), tt.maxEnv, tt.maxBytes); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzEnvelope(f *testing.F) {
	for _, e := range vectors(f) {
		b, _ := e.Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		out, err := e.Marshal()
		if err != nil {
			t.Fatalf("Marshal(Parse(b)): %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(b)) != b")
		}
		e2, err := Parse(out)
		if err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("Parse(Marshal(e)) != e: %v", err)
		}
	})
}

func FuzzOutbox(f *testing.F) {
	f.Add(outbox(f, vectors(f)))
	f.Add(outbox(f, vectors(f)[1:3]))
	f.Add(outbox(f, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		envs, err := ReadOutbox(bytes.NewReader(b), 100, 1<<20)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteOutbox(&buf, envs); err != nil {
			t.Fatalf("WriteOutbox(ReadOutbox(b)): %v", err)
		}
		if !bytes.Equal(buf.Bytes(), b) {
			t.Fatalf("WriteOutbox(ReadOutbox(b)) != b")
		}
	})
}

func TestIsOutbox(t *testing.T) {
	ob := outbox(t, vectors(t)[:1])
	if !IsOutbox(ob) || !IsOutbox(ob[:len(outboxMagic)]) {
		t.Errorf("IsOutbox(an outbox) = false")
	}
	for _, b := range [][]byte{nil, ob[:len(outboxMagic)-1], []byte("candor-bundle/v1\n"), []byte("age-encryption.org/v1\n")} {
		if IsOutbox(b) {
			t.Errorf("IsOutbox(%q) = true", b)
		}
	}
}
