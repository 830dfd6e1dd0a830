package checkpoint

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "candor.invalid/test/epoch-1"

func newTestSigner(t testing.TB, origin string) *Signer {
	t.Helper()
	var ed, ml [32]byte
	rand.Read(ed[:])
	rand.Read(ml[:])
	s, err := NewSignerFromSeeds(origin, &ed, &ml)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestLogVerifier(t testing.TB, s *Signer) *LogVerifier {
	t.Helper()
	v, err := NewLogVerifier(s.LogKey())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testWitness makes cosignature/v1 signatures the way a C2SP witness does.
type testWitness struct {
	name string
	priv ed25519.PrivateKey
	v    *CosignatureVerifier
	now  uint64
}

func newTestWitness(t testing.TB, name string) *testWitness {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vkey := fmt.Sprintf("%s+%08x+%s", name, keyID(name, typeCosignature, pub),
		base64.StdEncoding.EncodeToString(append([]byte(typeCosignature), pub...)))
	v, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return &testWitness{name: name, priv: priv, v: v, now: 1767225600}
}

func (w *testWitness) Name() string    { return w.name }
func (w *testWitness) KeyHash() uint32 { return w.v.hash }
func (w *testWitness) Sign(msg []byte) ([]byte, error) {
	sig := binary.BigEndian.AppendUint64(nil, w.now)
	return append(sig, ed25519.Sign(w.priv, cosignedMessage(w.now, msg))...), nil
}

// cosign returns the witness's signature line for the note's text.
func (w *testWitness) cosign(t testing.TB, msg []byte) []byte {
	t.Helper()
	text := msg[:bytes.LastIndex(msg, []byte("\n\n"))+1]
	signed, err := note.Sign(&note.Note{Text: string(text)}, w)
	if err != nil {
		t.Fatal(err)
	}
	return signed[len(text)+1:]
}

func testCheckpoint(size int64) *Checkpoint {
	return &Checkpoint{Origin: testOrigin, Size: size, Hash: tlog.RecordHash(fmt.Appendf(nil, "root %d", size))}
}

func TestSignOpenRoundTrip(t *testing.T) {
	s := newTestSigner(t, testOrigin)
	lv := newTestLogVerifier(t, s)
	w1, w2 := newTestWitness(t, "w1.example/w"), newTestWitness(t, "w2.example/w")
	for _, c := range []*Checkpoint{testCheckpoint(0), testCheckpoint(1 << 40),
		{Origin: testOrigin, Size: 7, Hash: tlog.Hash{1}, Extensions: []string{"epoch 2", "ünïcode ok"}}} {
		msg, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		msg = append(msg, w1.cosign(t, msg)...)
		msg = append(msg, w2.cosign(t, msg)...)
		v, err := Open(msg, lv, []*CosignatureVerifier{w1.v, w2.v}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&v.Checkpoint, c) {
			t.Errorf("got %+v, want %+v", v.Checkpoint, c)
		}
		if len(v.Cosignatures) != 2 || v.Cosignatures[0].Witness != "w1.example/w" || v.Cosignatures[1].Witness != "w2.example/w" {
			t.Errorf("cosignatures %+v, want w1 and w2", v.Cosignatures)
		}
		if got := v.Cosignatures[0].Time; !got.Equal(time.Unix(1767225600, 0)) {
			t.Errorf("cosignature time %v", got)
		}
	}
}

func TestOpenWithoutWitnesses(t *testing.T) {
	s := newTestSigner(t, testOrigin)
	msg, err := s.Sign(testCheckpoint(3))
	if err != nil {
		t.Fatal(err)
	}
	v, err := Open(msg, newTestLogVerifier(t, s), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Size != 3 || len(v.Cosignatures) != 0 {
		t.Errorf("got size %d with %d cosignatures", v.Size, len(v.Cosignatures))
	}
}

func TestOpenRefuses(t *testing.T) {
	s := newTestSigner(t, testOrigin)
	lv := newTestLogVerifier(t, s)
	w := newTestWitness(t, "w1.example/w")
	stranger := newTestWitness(t, "w1.example/w") // same name, other key: unknown
	other := newTestSigner(t, testOrigin)
	good, err := s.Sign(testCheckpoint(5))
	if err != nil {
		t.Fatal(err)
	}
	cosigned := append(bytes.Clone(good), w.cosign(t, good)...)
	lines := strings.SplitAfter(string(good), "\n")
	edLine, mlLine := lines[4], lines[5]
	badCosig := append(bytes.Clone(good), w.cosign(t, []byte(strings.Replace(string(good), "\n5\n", "\n6\n", 1)))...)
	otherMsg, _ := other.Sign(testCheckpoint(5))
	tests := []struct {
		name   string
		msg    []byte
		quorum int
		want   error
	}{
		{"altered size", []byte(strings.Replace(string(cosigned), "\n5\n", "\n6\n", 1)), 1, ErrBadSignature},
		{"Ed25519 line missing", []byte(strings.Replace(string(cosigned), edLine, "", 1)), 1, ErrBadSignature},
		{"ML-DSA line missing", []byte(strings.Replace(string(cosigned), mlLine, "", 1)), 1, ErrBadSignature},
		{"another log's key", append(otherMsg, w.cosign(t, otherMsg)...), 1, ErrBadSignature},
		{"forged cosignature", badCosig, 1, ErrBadSignature},
		{"unknown-key cosignature not counted", append(bytes.Clone(good), stranger.cosign(t, good)...), 1, ErrQuorum},
		{"no cosignature", good, 1, ErrQuorum},
		{"no blank line", []byte(strings.Replace(string(good), "\n\n", "\n", 1)), 0, ErrMalformed},
		{"control character", append([]byte("\t"), good...), 0, ErrMalformed},
		{"bad base64", append(bytes.Clone(good), "— w1.example/w !!!!\n"...), 0, ErrMalformed},
		{"line without dash", append(bytes.Clone(good), "w1.example/w AAAAAAAA\n"...), 0, ErrMalformed},
		{"unterminated", good[:len(good)-1], 0, ErrMalformed},
		{"oversize", append(bytes.Clone(good), bytes.Repeat([]byte("— x AAAAAAAA\n"), MaxNoteSize/13)...), 0, ErrTooLarge},
		{"not a checkpoint", mustSignText(t, s, "candor.invalid/test/epoch-1\nten\nAAAA\n"), 0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.msg, lv, []*CosignatureVerifier{w.v}, tt.quorum)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func mustSignText(t *testing.T, s *Signer, text string) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, s.ed, s.ml)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenOriginMustBeTheLogs(t *testing.T) {
	s := newTestSigner(t, testOrigin)
	msg := mustSignText(t, s, "candor.invalid/other/epoch-1\n1\n"+tlog.Hash{}.String()+"\n")
	if _, err := Open(msg, newTestLogVerifier(t, s), nil, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	if _, err := s.Sign(&Checkpoint{Origin: "candor.invalid/other/epoch-1"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("signing another origin: got %v, want ErrInvalid", err)
	}
}

func TestOpenConfigErrors(t *testing.T) {
	s := newTestSigner(t, testOrigin)
	msg, _ := s.Sign(testCheckpoint(1))
	w := newTestWitness(t, "w.example/w")
	if _, err := Open(msg, newTestLogVerifier(t, s), []*CosignatureVerifier{w.v}, 2); !errors.Is(err, ErrInvalid) {
		t.Errorf("impossible quorum: got %v", err)
	}
	if _, err := Open(msg, newTestLogVerifier(t, s), []*CosignatureVerifier{w.v, w.v}, 1); !errors.Is(err, ErrKey) {
		t.Errorf("duplicate witness: got %v", err)
	}
}

func TestParseText(t *testing.T) {
	h := tlog.Hash{1, 2, 3}.String()
	good := []string{
		"o\n0\n" + h + "\n",
		"example.com/log\n123\n" + h + "\n",
		"example.com/log\n123\n" + h + "\nextension one\n",
	}
	for _, s := range good {
		c, err := ParseText([]byte(s))
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if got, _ := c.Text(); string(got) != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
	bad := []string{
		"", "o\n1\n", "o\n1\n" + h, "o\n01\n" + h + "\n", "o\n-1\n" + h + "\n", "o\n+1\n" + h + "\n",
		"o\n1\n" + strings.TrimRight(h, "=") + "\n", "o\n1\nAAAA\n", "o p\n1\n" + h + "\n",
		"o+p\n1\n" + h + "\n", "\n1\n" + h + "\n", "o\n1\n" + h + "\n\n", "o\n1\n" + h + "\nx\x01\n",
		"o\n9223372036854775808\n" + h + "\n", "o\n1\n" + h + "\n" + strings.Repeat("e\n", MaxExtensions+1),
	}
	for _, s := range bad {
		if _, err := ParseText([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v, want ErrMalformed", s, err)
		}
	}
}

func TestKeys(t *testing.T) {
	var edSeed, mlSeed [32]byte
	rand.Read(edSeed[:])
	rand.Read(mlSeed[:])
	s, err := NewSignerFromSeeds(testOrigin, &edSeed, &mlSeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSignerFromSeeds("not an origin", &edSeed, &mlSeed); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid origin: got %v, want ErrInvalid", err)
	}
	if s.Origin() != testOrigin {
		t.Errorf("origin %q", s.Origin())
	}
	lv := newTestLogVerifier(t, s)
	if lv.String() != s.LogKey() || lv.Origin() != testOrigin || lv.Ed25519VerifierKey() != s.Ed25519VerifierKey() {
		t.Errorf("log key did not round-trip: %q vs %q", lv.String(), s.LogKey())
	}
	if _, err := note.NewVerifier(s.Ed25519VerifierKey()); err != nil {
		t.Errorf("Ed25519 verifier key is not a standard note key: %v", err)
	}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%#v", s), fmt.Sprintf("%+v", s)} {
		if strings.Contains(out, "PRIVATE") || strings.Contains(out, fmt.Sprintf("%x", edSeed[:8])) || strings.Contains(out, fmt.Sprint(edSeed[:8])) {
			t.Errorf("signer formats its secret: %q", out)
		}
	}
	// Same seeds, other origin: a new epoch's signer.
	seed := bytes.Repeat([]byte{7}, 32)
	a, _ := NewSignerFromSeeds("candor.invalid/x/epoch-1", (*[32]byte)(seed), (*[32]byte)(seed))
	b, _ := NewSignerFromSeeds("candor.invalid/x/epoch-2", (*[32]byte)(seed), (*[32]byte)(seed))
	if a.LogKey() == b.LogKey() || !strings.HasPrefix(b.LogKey(), "candor.invalid/x/epoch-2+") {
		t.Errorf("epoch signers: %q, %q", a.LogKey(), b.LogKey())
	}
}

func TestBadVerifierKeys(t *testing.T) {
	s := newTestSigner(t, testOrigin)
	other := newTestSigner(t, "candor.invalid/other/epoch-1")
	ed, ml, _ := strings.Cut(s.LogKey(), " ")
	_, otherML, _ := strings.Cut(other.LogKey(), " ")
	for name, k := range map[string]string{
		"one half":      ed,
		"swapped":       ml + " " + ed,
		"two origins":   ed + " " + otherML,
		"bad key id":    ed + " " + strings.Replace(ml, "+", "+0", 1)[:len(ml)],
		"truncated":     ed + " " + ml[:len(ml)-8],
		"witness as ml": ed + " " + newTestWitness(t, testOrigin).v.String(),
	} {
		if _, err := NewLogVerifier(k); !errors.Is(err, ErrKey) {
			t.Errorf("%s: got %v, want ErrKey", name, err)
		}
	}
	if _, err := NewCosignatureVerifier(ed); !errors.Is(err, ErrKey) {
		t.Errorf("Ed25519 note key as witness key: got %v, want ErrKey", err)
	}
}

func TestVerifyCosignatures(t *testing.T) {
	s := newTestSigner(t, testOrigin)
	msg, _ := s.Sign(testCheckpoint(9))
	text, _ := testCheckpoint(9).Text()
	w, stranger := newTestWitness(t, "w.example/w"), newTestWitness(t, "s.example/w")
	lines := append(stranger.cosign(t, msg), w.cosign(t, msg)...)
	got, cs, err := VerifyCosignatures(text, lines, w.v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, w.cosign(t, msg)) || cs.Witness != "w.example/w" {
		t.Errorf("got %q, %+v", got, cs)
	}
	for name, l := range map[string][]byte{
		"only a stranger": stranger.cosign(t, msg),
		"empty":           nil,
		"garbage":         []byte("<html>oops</html>\n"),
		"other text":      w.cosign(t, []byte(strings.Replace(string(msg), "\n9\n", "\n8\n", 1))),
		"blank line":      append([]byte("\n"), w.cosign(t, msg)...),
	} {
		if _, _, err := VerifyCosignatures(text, l, w.v); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLogVerifierWithOrigin(t *testing.T) {
	seed := bytes.Repeat([]byte{3}, 32)
	e1, _ := NewSignerFromSeeds("candor.invalid/x/epoch-1", (*[32]byte)(seed), (*[32]byte)(seed))
	e2, _ := NewSignerFromSeeds("candor.invalid/x/epoch-2", (*[32]byte)(seed), (*[32]byte)(seed))
	v2, err := newTestLogVerifier(t, e1).WithOrigin("candor.invalid/x/epoch-2")
	if err != nil {
		t.Fatal(err)
	}
	if v2.String() != e2.LogKey() {
		t.Fatalf("got %q, want %q", v2.String(), e2.LogKey())
	}
	c := &Checkpoint{Origin: "candor.invalid/x/epoch-2", Size: 1, Hash: tlog.Hash{1}}
	msg, _ := e2.Sign(c)
	if _, err := Open(msg, v2, nil, 0); err != nil {
		t.Fatal(err)
	}
	// Another key pair under the same new name does not verify.
	if _, err := Open(msg, newTestLogVerifier(t, newTestSigner(t, "candor.invalid/x/epoch-2")), nil, 0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other keys: got %v", err)
	}
}

func TestLogVerifierFromKeys(t *testing.T) {
	var ed, ml [32]byte
	rand.Read(ed[:])
	rand.Read(ml[:])
	const origin = "candor.invalid/abcdefghijklmnop/epoch-1"
	s, err := NewSignerFromSeeds(origin, &ed, &ml)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.Sign(&Checkpoint{Origin: origin, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	edPub := ed25519.NewKeyFromSeed(ed[:]).Public().(ed25519.PublicKey)
	mlPub, _ := mldsa65.NewKeyFromSeed(&ml)
	v, err := NewLogVerifierFromKeys(origin, edPub, mlPub.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != s.LogKey() {
		t.Fatalf("log key %q, want %q", v, s.LogKey())
	}
	if _, err := Open(msg, v, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLogVerifierFromKeys(origin, edPub[:31], mlPub.Bytes()); !errors.Is(err, ErrKey) {
		t.Errorf("short Ed25519 key: %v", err)
	}
	if _, err := NewLogVerifierFromKeys(origin, edPub, mlPub.Bytes()[1:]); !errors.Is(err, ErrKey) {
		t.Errorf("short ML-DSA key: %v", err)
	}
}
