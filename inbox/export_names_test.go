package inbox

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"candor/crypto"
	"candor/internal/filename"
	"candor/internal/frame"
)

// TestExportRefusesSpoofedNames is the attack a server (or anyone who can seal to a reviewer's
// recipient) could make: a report whose frame names a file "invoice\u202Egpj.exe", which a file
// manager shows as "invoiceexe.jpg". The server's own upload path strips the override, but the
// inbox cannot trust that: export and read must strip it themselves. It failed before the inbox
// used internal/filename (its own sanitiser removed control characters only, not format ones).
func TestExportRefusesSpoofedNames(t *testing.T) {
	const pass = "correct horse battery staple"
	cfg := Config{Home: t.TempDir(), WorkFactor: 10, Passphrase: func() ([]byte, error) { return []byte(pass), nil }}
	if _, err := Init(cfg, "Alice", []byte(pass)); err != nil {
		t.Fatal(err)
	}
	in, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	id, err := in.Identity()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"invoice\u202egpj.exe", "\u2066photo\u2069\u200f.jpg", "../../.bashrc", "CON", "a\u200bb\ufeff.txt"}
	caseID := plantCase(t, in, sealParts(t, id.Recipient(), names))

	dir := filepath.Join(t.TempDir(), "out")
	got, err := in.Export(caseID, dir, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"invoicegpj.exe", "photo.jpg", "bashrc", "_CON", "ab.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("exported %q, want %q", got, want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.ContainsFunc(e.Name(), filename.IsBidiControl) || strings.ContainsAny(e.Name(), "\u200b\ufeff/") {
			t.Errorf("exported file %q holds a bidi or format character", e.Name())
		}
	}
	var out bytes.Buffer
	if err := in.Read(caseID, &out); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsFunc(out.String(), filename.IsBidiControl) || !strings.Contains(out.String(), "[file] invoicegpj.exe") {
		t.Errorf("read shows the spoofed name:\n%s", out.String())
	}
}

// sealParts seals a frame holding one small file part per name to r.
func sealParts(t *testing.T, r age.Recipient, names []string) []byte {
	t.Helper()
	var h, p bytes.Buffer
	w, err := crypto.Seal(&h, &p, []age.Recipient{r})
	if err != nil {
		t.Fatal(err)
	}
	fw := frame.NewWriter(w)
	for _, n := range names {
		pw, err := fw.Part(frame.KindFile, n, "application/octet-stream")
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte("MZ"))
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return append(h.Bytes(), p.Bytes()...)
}

// plantCase stores a case holding one report blob (the age file ageFile) as an import would
// after the server's signature verified, and returns the case ID.
func plantCase(t *testing.T, in *Inbox, ageFile []byte) string {
	t.Helper()
	cid, bid := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	err := in.db.Update(func(tx *bolt.Tx) error {
		c := caseRecord{ID: hex.EncodeToString(cid), Status: "received", Blobs: []string{hex.EncodeToString(bid)}}
		if err := putJSON(tx.Bucket(bucketCases), cid, &c); err != nil {
			return err
		}
		b := blobRecord{Case: c.ID, Kind: "report", Author: "reporter", Size: int64(len(ageFile))}
		if err := putJSON(tx.Bucket(bucketBlobs), bid, &b); err != nil {
			return err
		}
		return tx.Bucket(bucketBlobData).Put(bid, ageFile)
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(cid)
}
