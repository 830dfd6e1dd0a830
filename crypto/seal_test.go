package crypto

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"candor/internal/testenv"
	"filippo.io/age"
)

func newHybridIdentity(t testing.TB) *age.HybridIdentity {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// seal seals plaintext to recipients and returns the header and payload.
func seal(t testing.TB, plaintext []byte, recipients ...age.Recipient) (header, payload []byte) {
	t.Helper()
	var h, p bytes.Buffer
	w, err := Seal(&h, &p, recipients)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return h.Bytes(), p.Bytes()
}

func TestSealOpen(t *testing.T) {
	alice, bob, eve := newHybridIdentity(t), newHybridIdentity(t), newHybridIdentity(t)
	for _, size := range []int{0, 1, 64*1024 - 1, 64 * 1024, 64*1024 + 1, 300_000} {
		plaintext := make([]byte, size)
		testRand(byte(size)).Read(plaintext)
		header, payload := seal(t, plaintext, alice.Recipient(), bob.Recipient())
		if err := checkHeader(header); err != nil {
			t.Fatalf("size %d: header: %v", size, err)
		}
		for _, id := range []age.Identity{alice, bob} {
			r, err := Open(header, bytes.NewReader(payload), eve, id)
			if err != nil {
				t.Fatalf("size %d: Open: %v", size, err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("size %d: reading: %v", size, err)
			}
			if !bytes.Equal(got, plaintext) {
				t.Errorf("size %d: plaintext differs", size)
			}
		}
		if _, err := Open(header, bytes.NewReader(payload), eve); err == nil {
			t.Errorf("size %d: opened with a wrong identity", size)
		}
		// Joined, the two parts are a standard age file.
		r, err := age.Decrypt(io.MultiReader(bytes.NewReader(header), bytes.NewReader(payload)), bob)
		if err != nil {
			t.Fatalf("size %d: age.Decrypt of the joined file: %v", size, err)
		}
		if got, _ := io.ReadAll(r); !bytes.Equal(got, plaintext) {
			t.Errorf("size %d: age.Decrypt plaintext differs", size)
		}
	}
}

// TestHeaderSplitterChunking feeds a real age file through the splitter in writes of every small
// size, so the MAC line is cut at every possible place.
func TestHeaderSplitterChunking(t *testing.T) {
	id := newHybridIdentity(t)
	var file bytes.Buffer
	w, _ := age.Encrypt(&file, id.Recipient(), newHybridIdentity(t).Recipient())
	w.Write([]byte("hello"))
	w.Close()
	wantHeader, err := age.ExtractHeader(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for chunk := 1; chunk <= 70; chunk++ {
		var h, p bytes.Buffer
		s := &headerSplitter{header: &h, payload: &p, lineStart: true}
		for b := file.Bytes(); len(b) > 0; {
			n := min(chunk, len(b))
			if m, err := s.Write(b[:n]); err != nil || m != n {
				t.Fatalf("chunk %d: Write = %d, %v; want %d, nil", chunk, m, err, n)
			}
			b = b[n:]
		}
		if !bytes.Equal(h.Bytes(), wantHeader) {
			t.Fatalf("chunk %d: header differs from age.ExtractHeader", chunk)
		}
		if !bytes.Equal(p.Bytes(), file.Bytes()[len(wantHeader):]) {
			t.Fatalf("chunk %d: payload differs", chunk)
		}
	}
}

func TestSplitHeader(t *testing.T) {
	id := newHybridIdentity(t)
	header, payload := seal(t, []byte("report"), id.Recipient())
	joined := append(append([]byte(nil), header...), payload...)
	gotHeader, rest, err := SplitHeader(bytes.NewReader(joined))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotHeader, header) {
		t.Errorf("SplitHeader header differs from Seal's")
	}
	r, err := Open(gotHeader, rest, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "report" {
		t.Errorf("got %q, want %q", got, "report")
	}

	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not age", "hello\n--- abc\n"},
		{"armored", "-----BEGIN AGE ENCRYPTED FILE-----\n"},
		{"truncated", string(header[:len(header)-10])},
		{"no MAC", "age-encryption.org/v1\n-> X25519 abc\nbody\n"},
		{"long line", "age-encryption.org/v1\n" + strings.Repeat("a", maxHeaderLine+1) + "\n"},
		{"too big", "age-encryption.org/v1\n" + strings.Repeat(strings.Repeat("a", 1000)+"\n", MaxHeaderSize/1000+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := SplitHeader(strings.NewReader(tt.in)); !errors.Is(err, ErrInvalidHeader) {
				t.Errorf("got %v, want ErrInvalidHeader", err)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	id := newHybridIdentity(t)
	header, payload := seal(t, bytes.Repeat([]byte("x"), 100_000), id.Recipient())
	tamperedHeader := bytes.Clone(header)
	tamperedHeader[len(tamperedHeader)-5] ^= 1 // inside the MAC
	tamperedPayload := bytes.Clone(payload)
	tamperedPayload[len(payload)/2] ^= 1

	tests := []struct {
		name    string
		header  []byte
		payload []byte
		ids     []age.Identity
	}{
		{"no identities", header, payload, nil},
		{"header with payload bytes", append(bytes.Clone(header), payload[:16]...), payload[16:], []age.Identity{id}},
		{"header without MAC line", header[:bytes.LastIndex(header, []byte("---"))], payload, []age.Identity{id}},
		{"not a header", []byte("hello\n"), payload, []age.Identity{id}},
		{"tampered MAC", tamperedHeader, payload, []age.Identity{id}},
		{"wrong identity", header, payload, []age.Identity{newHybridIdentity(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.header, bytes.NewReader(tt.payload), tt.ids...); err == nil {
				t.Errorf("Open succeeded, want an error")
			}
		})
	}
	// Payload damage shows up while reading, never as silent success.
	for name, p := range map[string][]byte{"tampered payload": tamperedPayload, "truncated payload": payload[:len(payload)-1]} {
		r, err := Open(header, bytes.NewReader(p), id)
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil {
			t.Errorf("%s: decrypted without error", name)
		}
	}
}

func TestParseRecipients(t *testing.T) {
	hybrid := newHybridIdentity(t)
	x25519, _ := age.GenerateX25519Identity()
	tests := []struct {
		name    string
		in      []string
		wantErr string // substring; "" means success
	}{
		{"one hybrid", []string{hybrid.Recipient().String()}, ""},
		{"two hybrid, spaces", []string{" " + hybrid.Recipient().String() + "\n", newHybridIdentity(t).Recipient().String()}, ""},
		{"empty list", nil, "no age recipients"},
		{"classic", []string{x25519.Recipient().String()}, "recipient 1: unsupported age recipient: classic X25519"},
		{"mixed", []string{hybrid.Recipient().String(), x25519.Recipient().String()}, "recipient 2: unsupported age recipient: classic X25519"},
		{"ssh", []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust"}, "SSH keys are not accepted"},
		{"plugin", []string{"age1yubikey1q2w7u3vpya839jxxuq8g0sedh3d740d4xvn639sqhr95ejj8vu3hyfumptt"}, "plugin recipients"},
		{"secret key", []string{hybrid.String()}, "this is a secret key"},
		{"classic secret key", []string{x25519.String()}, "this is a secret key"},
		{"garbage", []string{"hello"}, "not an age recipient"},
		{"empty entry", []string{""}, "not an age recipient"},
		{"bad checksum", []string{changeChar(hybrid.Recipient().String(), 100)}, "malformed age recipient"},
		{"short hybrid", []string{mustBech32(t, "age1pq", []byte("too short"))}, "malformed hybrid recipient key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := ParseRecipients(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if len(rs) != len(tt.in) {
					t.Errorf("got %d recipients, want %d", len(rs), len(tt.in))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrRecipient) && !errors.Is(err, ErrNoRecipients) {
				t.Errorf("error %v wraps neither ErrRecipient nor ErrNoRecipients", err)
			}
		})
	}
}

// changeChar replaces the Bech32 character at i with the next one of the alphabet.
func changeChar(s string, i int) string {
	c := bech32Charset[(strings.IndexByte(bech32Charset, s[i])+1)%32]
	return s[:i] + string(c) + s[i+1:]
}

func mustBech32(t testing.TB, hrp string, data []byte) string {
	t.Helper()
	s, err := bech32Encode(hrp, data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRejectsRecipients(t *testing.T) {
	x25519, _ := age.GenerateX25519Identity()
	scrypt, _ := age.NewScryptRecipient("passphrase")
	hybrid := newHybridIdentity(t).Recipient()
	tests := []struct {
		name string
		rs   []age.Recipient
		want error
	}{
		{"none", nil, ErrNoRecipients},
		{"classic", []age.Recipient{x25519.Recipient()}, ErrRecipient},
		{"mixed", []age.Recipient{hybrid, x25519.Recipient()}, ErrRecipient},
		{"scrypt", []age.Recipient{scrypt}, ErrRecipient},
		{"nil hybrid", []age.Recipient{(*age.HybridRecipient)(nil)}, ErrRecipient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h, p bytes.Buffer
			_, err := Seal(&h, &p, tt.rs)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if h.Len() != 0 || p.Len() != 0 {
				t.Errorf("Seal wrote %d header and %d payload bytes before failing", h.Len(), p.Len())
			}
		})
	}
}

func TestSealWriteErrors(t *testing.T) {
	r := []age.Recipient{newHybridIdentity(t).Recipient()}
	if _, err := Seal(errWriter{}, io.Discard, r); err == nil {
		t.Errorf("Seal succeeded with a failing header writer")
	}
	w, err := Seal(io.Discard, errWriter{}, r)
	if err == nil {
		// The nonce may be buffered; the error must surface by Close at the latest.
		w.Write(make([]byte, 100_000))
		err = w.Close()
	}
	if err == nil {
		t.Errorf("sealing succeeded with a failing payload writer")
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestStockAgeDecrypts checks the promise that header ‖ payload is a standard age file: the stock
// age CLI decrypts it with the reviewer's identity file.
func TestStockAgeDecrypts(t *testing.T) {
	ageBin := testenv.Age(t)
	id := newHybridIdentity(t)
	plaintext := make([]byte, 200_000)
	rand.NewChaCha8([32]byte{9}).Read(plaintext)
	header, payload := seal(t, plaintext, newHybridIdentity(t).Recipient(), id.Recipient())

	dir := t.TempDir()
	keyFile, sealed := filepath.Join(dir, "key.txt"), filepath.Join(dir, "report.age")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sealed, append(header, payload...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ageBin, "-d", "-i", keyFile, sealed).Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	if !bytes.Equal(out, plaintext) {
		t.Errorf("age -d output differs from the plaintext")
	}
}
