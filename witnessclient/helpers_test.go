package witnessclient

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"testing"

	"candor/internal/checkpoint"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// memTree is an in-memory RFC 6962 tree (tlog's stored hashes).
type memTree struct {
	hashes []tlog.Hash
	n      int64
}

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) add(t testing.TB, record string) {
	t.Helper()
	hs, err := tlog.StoredHashes(m.n, []byte(record), m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
	m.n++
}

// grow appends the records "<prefix><i>" for i in [m.n, size).
func (m *memTree) grow(t testing.TB, prefix string, size int64) {
	t.Helper()
	for m.n < size {
		m.add(t, prefix+strconv.FormatInt(m.n, 10))
	}
}

// sign returns the tree's signed checkpoint and a prover to its current size.
func (m *memTree) sign(t testing.TB, s *checkpoint.Signer) ([]byte, Prover) {
	t.Helper()
	root, err := tlog.TreeHash(m.n, m)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.Sign(&checkpoint.Checkpoint{Origin: s.Origin(), Size: m.n, Hash: root})
	if err != nil {
		t.Fatal(err)
	}
	size := m.n
	return msg, func(old int64) (tlog.TreeProof, error) { return tlog.ProveTree(size, old, m) }
}

func newSigner(t testing.TB, origin string) *checkpoint.Signer {
	t.Helper()
	var ed, ml [32]byte
	rand.Read(ed[:])
	rand.Read(ml[:])
	s, err := checkpoint.NewSignerFromSeeds(origin, &ed, &ml)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cosigner makes cosignature/v1 signatures, as a C2SP witness does (for fake witnesses).
type cosigner struct {
	name string
	priv ed25519.PrivateKey
	hash uint32
	vkey string
}

func newCosigner(t testing.TB, name string) *cosigner {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(append([]byte(name+"\n\x04"), pub...))
	c := &cosigner{name: name, priv: priv, hash: binary.BigEndian.Uint32(h[:])}
	c.vkey = fmt.Sprintf("%s+%08x+%s", name, c.hash, base64.StdEncoding.EncodeToString(append([]byte{4}, pub...)))
	return c
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Sign(msg []byte) ([]byte, error) {
	const now = 1767225600
	m := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", now, msg)
	return append(binary.BigEndian.AppendUint64(nil, now), ed25519.Sign(c.priv, m)...), nil
}

// lines returns the cosignature line of text.
func (c *cosigner) lines(t testing.TB, text []byte) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: string(text)}, c)
	if err != nil {
		t.Fatal(err)
	}
	return b[len(text)+1:]
}

func (c *cosigner) verifier(t testing.TB) *checkpoint.CosignatureVerifier {
	t.Helper()
	v, err := checkpoint.NewCosignatureVerifier(c.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
