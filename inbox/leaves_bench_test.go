package inbox_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/tlog"

	"candor/crypto"
	"candor/inbox"
	"candor/installation"
	"candor/internal/bundle"
	"candor/internal/checkpoint"
	"candor/internal/leaf"
	"candor/internal/logentry"
)

// memHashes is a tlog hash store in memory.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

// leafBundle builds a signed bundle for the reviewer of card whose leaf list holds n leaves from
// 0, one in every `every` addressed to the reviewer (a status change of a case the inbox does not
// hold), the others to other reviewers; all carry entries of about 100 bytes.
func leafBundle(b testing.TB, card *crypto.Card, n, every int) (raw []byte, serverKey string) {
	sk, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	origin, _ := checkpoint.EpochOrigin(sk.Public().Bytes()[:32], 1)
	key, _ := leaf.GenerateAddressingKey(rand.Reader)
	other, _ := leaf.GenerateAddressingKey(rand.Reader)
	var leaves []leaf.Leaf
	var hashes memHashes
	for i := range n {
		var id [16]byte
		rand.Read(id[:])
		rest, _ := (&logentry.Entry{Type: logentry.StatusChanged, Day: 20000, Case: id,
			Actor: "abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567", Value: "in-review"}).Marshal()
		k := other
		if i%every == 0 {
			k = key
		}
		lf, err := leaf.New(rand.Reader, rest, leaf.Addressed, []leaf.Tag{k.Tag(origin, int64(i))}, leaf.DefaultTagCount)
		if err != nil {
			b.Fatal(err)
		}
		hs, err := tlog.StoredHashes(int64(i), lf.Head(), hashes)
		if err != nil {
			b.Fatal(err)
		}
		hashes, leaves = append(hashes, hs...), append(leaves, *lf)
	}
	root, _ := tlog.TreeHash(int64(n), hashes)
	signer, _ := installation.LogSigner(sk, origin)
	note, err := signer.Sign(&checkpoint.Checkpoint{Origin: origin, Size: int64(n), Hash: root})
	if err != nil {
		b.Fatal(err)
	}
	var sealed bytes.Buffer
	w, _ := age.Encrypt(&sealed, card.Recipient())
	w.Write(key.Bytes())
	w.Close()
	var out bytes.Buffer
	bw := bundle.NewWriter(&out)
	err = bw.Header(&bundle.Header{ServerKey: sk.Public().Bytes(), ServerOrigin: origin, Reviewer: card.Fingerprint(), Day: 20000})
	if err == nil {
		err = bw.Checkpoint(note)
	}
	if err == nil {
		err = bw.SealedKey(&bundle.SealedKey{Age: sealed.Bytes()})
	}
	if err == nil {
		err = bw.LeafList(&bundle.LeafList{List: *leaf.Select(origin, 0, nil, leaves, key)})
	}
	if err == nil {
		err = bw.CaseIndex(&bundle.CaseIndex{})
	}
	if err == nil {
		err = bw.Close(sk)
	}
	if err != nil {
		b.Fatal(err)
	}
	return out.Bytes(), sk.Public().Fingerprint()
}

// BenchmarkImport10kLeaves: a bundle carrying 10,000 log leaves of which 1 % are addressed to the
// reviewer (the rest as their heads: hash and tags), imported into a fresh inbox: its size, and
// the time of the import (both passes, the leaf list's verification, the stores).
func BenchmarkImport10kLeaves(b *testing.B) {
	const n, every = 10000, 100
	dir := b.TempDir()
	pass := func() ([]byte, error) { return []byte("correct horse battery staple"), nil }
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		cfg := inbox.Config{Home: filepath.Join(dir, fmt.Sprint(i)), WorkFactor: 10, Passphrase: pass}
		card, err := inbox.Init(cfg, "Alice", []byte("correct horse battery staple"))
		if err != nil {
			b.Fatal(err)
		}
		raw, serverKey := leafBundle(b, card, n, every)
		path := filepath.Join(dir, fmt.Sprint(i, ".bundle"))
		os.WriteFile(path, raw, 0o600)
		in, err := inbox.Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := in.TrustServer(serverKey); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(raw)), "bundle-bytes")
		b.StartTimer()
		res, err := in.Import(path)
		b.StopTimer()
		if err != nil || res.Entries != n/every || res.Others != n-n/every {
			b.Fatalf("import: %+v, %v", res, err)
		}
		in.Close()
		b.StartTimer()
	}
}
