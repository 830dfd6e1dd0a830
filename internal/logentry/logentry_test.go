package logentry

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

type testKey struct{ priv ed25519.PrivateKey }

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

func entries() []*Entry {
	c := [16]byte{0xca, 0x5e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	return []*Entry{
		{Version: 1, Type: CaseCreated, Day: 20780, Case: c, Actor: "reporter", Subject: sha256.Sum256([]byte("age header"))},
		{Version: 1, Type: StatusChanged, Day: 20781, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Value: "in-review"},
		{Version: 1, Type: HoldChanged, Day: 20781, Case: c, Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx", Value: "on"},
		{Version: 1, Type: CaseDeleted, Day: 21200, Case: c, Actor: "server", Value: "retention"},
		{Version: 1, Type: ReviewerAdded, Day: 20700, Actor: "admin", Subject: sha256.Sum256([]byte("card"))},
		{Version: 1, Type: RestoreDone, Day: -1, Actor: "admin"},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range entries() {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%v: %v", e.Type, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("got %+v, want %+v", got, e)
		}
		h, err := e.Hash()
		if err != nil || h != tlog.RecordHash(b) {
			t.Errorf("%v: Hash = %v, %v; want RecordHash of the encoding", e.Type, h, err)
		}
	}
	e := entries()[0]
	e.Version = 0
	if b, err := e.Marshal(); err != nil || b[len(entryMagic)] != Version {
		t.Errorf("Version 0 must encode as %d: %v", Version, err)
	}
}

// TestEntryVector pins the encoding: changing it would break every existing log.
func TestEntryVector(t *testing.T) {
	e := &Entry{Type: StatusChanged, Day: 0x5158, Actor: "admin", Value: "closed"}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "candor-log-entry\x01\x04\x00\x00\x51\x58" + strings.Repeat("\x00", 16) + "\x05admin" +
		strings.Repeat("\x00", 32) + "\x06closed"
	if string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestEntryRejects(t *testing.T) {
	good, _ := entries()[1].Marshal()
	set := func(i int, c byte) []byte { b := bytes.Clone(good); b[i] = c; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrVersion},
		{"magic", []byte("candor-log-entrx\x01"), ErrVersion},
		{"version 2", set(16, 2), ErrVersion},
		{"type 0", set(17, 0), ErrMalformed},
		{"type 12", set(17, 12), ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing", append(bytes.Clone(good), 'x'), ErrMalformed},
		{"actor len 0", set(17+1+4+16, 0), ErrMalformed},
		{"space in actor", set(17+1+4+16+1, ' '), ErrMalformed},
		{"control in value", set(len(good)-1, '\n'), ErrMalformed},
		{"value len 33", append(append(bytes.Clone(good[:len(good)-10]), 33), strings.Repeat("a", 33)...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	for _, e := range []*Entry{
		{Type: 0, Actor: "admin"}, {Type: 12, Actor: "admin"}, {Type: CaseCreated},
		{Type: CaseCreated, Actor: strings.Repeat("a", 65)}, {Type: CaseCreated, Actor: "a", Value: strings.Repeat("v", 33)},
		{Type: CaseCreated, Actor: "a", Value: "é"}, {Version: 2, Type: CaseCreated, Actor: "a"},
	} {
		if _, err := e.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) succeeded", e)
		}
		if _, err := e.Hash(); err == nil {
			t.Errorf("Hash(%+v) succeeded", e)
		}
	}
}

func checkpoint(t testing.TB) *SignedCheckpoint {
	c := &SignedCheckpoint{Checkpoint: Checkpoint{Origin: "candor.example/log", Size: 12345, Hash: tlog.RecordHash([]byte("root"))}}
	if err := c.Sign(newTestKey(1)); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckpoint(t *testing.T) {
	c := checkpoint(t)
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "candor-log/v1\ncandor.example/log\n12345\n"+c.Hash.String()+"\n\nsig ") {
		t.Errorf("unexpected text %q", b)
	}
	got, err := ParseSigned(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("got %+v, want %+v", got, c)
	}
	if err := got.Verify(newTestKey(1)); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := got.Verify(newTestKey(2)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other key: got %v, want ErrBadSignature", err)
	}
	got.Size++
	if err := got.Verify(newTestKey(1)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("changed size: got %v, want ErrBadSignature", err)
	}
	got.Sig = nil
	if err := got.Verify(newTestKey(1)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("unsigned: got %v, want ErrBadSignature", err)
	}
}

func TestCheckpointRejects(t *testing.T) {
	h := tlog.RecordHash(nil).String()
	sig := "\n\nsig AAAA\n"
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrVersion},
		{"v2", "candor-log/v2\no\n1\n" + h + sig, ErrVersion},
		{"no sig", "candor-log/v1\no\n1\n" + h + "\n", ErrMalformed},
		{"leading zero", "candor-log/v1\no\n01\n" + h + sig, ErrMalformed},
		{"plus", "candor-log/v1\no\n+1\n" + h + sig, ErrMalformed},
		{"negative", "candor-log/v1\no\n-1\n" + h + sig, ErrMalformed},
		{"overflow", "candor-log/v1\no\n9223372036854775808\n" + h + sig, ErrMalformed},
		{"empty origin", "candor-log/v1\n\n1\n" + h + sig, ErrMalformed},
		{"space origin", "candor-log/v1\na b\n1\n" + h + sig, ErrMalformed},
		{"bad hash", "candor-log/v1\no\n1\nAAAA\n" + sig, ErrMalformed},
		{"unpadded hash", "candor-log/v1\no\n1\n" + strings.TrimRight(h, "=") + sig, ErrMalformed},
		{"extra line", "candor-log/v1\no\n1\n" + h + "\nextra" + sig, ErrMalformed},
		{"sig unterminated", "candor-log/v1\no\n1\n" + h + "\n\nsig AAAA", ErrMalformed},
		{"sig empty", "candor-log/v1\no\n1\n" + h + "\n\nsig \n", ErrMalformed},
		{"sig bad base64", "candor-log/v1\no\n1\n" + h + "\n\nsig AAA\n", ErrMalformed},
		{"sig trailing", "candor-log/v1\no\n1\n" + h + "\n\nsig AAAA\nx", ErrMalformed},
		{"two sigs", "candor-log/v1\no\n1\n" + h + "\n\nsig AAAA\n\nsig AAAA\n", ErrMalformed},
		{"sig split", "candor-log/v1\no\n1\n" + h + "\n\nsig AA\nAA\n", ErrMalformed},
		{"sig cr", "candor-log/v1\no\n1\n" + h + "\n\nsig AAAA\r\n", ErrMalformed},
		{"crlf", "candor-log/v1\r\no\n1\n" + h + sig, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseSigned([]byte(tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestProofs(t *testing.T) {
	var hs []tlog.Hash
	for i := range 64 {
		hs = append(hs, tlog.RecordHash([]byte{byte(i)}))
	}
	for _, n := range []int{0, 1, 7, 64} {
		b, err := MarshalRecordProof(hs[:n])
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseRecordProof(b)
		if err != nil || len(p) != n || (n > 0 && !reflect.DeepEqual([]tlog.Hash(p), hs[:n])) {
			t.Errorf("record proof of %d: got %d hashes, %v", n, len(p), err)
		}
		tb, _ := MarshalTreeProof(hs[:n])
		if tp, err := ParseTreeProof(tb); err != nil || len(tp) != n {
			t.Errorf("tree proof of %d: got %d hashes, %v", n, len(tp), err)
		}
	}
	if _, err := MarshalTreeProof(append(hs, hs[0])); !errors.Is(err, ErrInvalid) {
		t.Errorf("65 hashes: got %v, want ErrInvalid", err)
	}
	for _, in := range [][]byte{nil, {65}, {1}, {1, 0}, append([]byte{0}, 0)} {
		if _, err := ParseRecordProof(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseRecordProof(%x): got %v, want ErrMalformed", in, err)
		}
	}
}

func FuzzLogEntry(f *testing.F) {
	for _, e := range entries() {
		b, _ := e.Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		out, err := e.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(b)) != b: %v", err)
		}
		if e2, err := Parse(out); err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("Parse(Marshal(e)) != e: %v", err)
		}
	})
}

func FuzzCheckpoint(f *testing.F) {
	b, _ := checkpoint(f).Marshal()
	f.Add(b)
	f.Add([]byte("candor-log/v1\no\n0\n" + tlog.Hash{}.String() + "\n\nsig AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseCheckpoint(b); err == nil {
			if out, err := c.Marshal(); err != nil || !bytes.Equal(out, b) {
				t.Fatalf("Marshal(ParseCheckpoint(b)) != b: %v", err)
			}
		}
		c, err := ParseSigned(b)
		if err != nil {
			return
		}
		out, err := c.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Marshal(ParseSigned(b)) != b: %v", err)
		}
		if c2, err := ParseSigned(out); err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("ParseSigned(Marshal(c)) != c: %v", err)
		}
	})
}

func FuzzProof(f *testing.F) {
	b, _ := MarshalTreeProof([]tlog.Hash{tlog.RecordHash(nil), tlog.RecordHash([]byte{1})})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseTreeProof(b)
		if err != nil {
			return
		}
		if out, err := MarshalTreeProof(p); err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(b)) != b: %v", err)
		}
	})
}
