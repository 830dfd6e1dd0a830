package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"candor/internal/logentry"

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

// fixedSigner replays a given signature, to re-encode a parsed bundle byte for byte.
type fixedSigner []byte

func (s fixedSigner) Sign(string, []byte) ([]byte, error) { return s, nil }

const fp = "abcd-efgh-ijkl-mnop-qrst-uvwx"

var caseID = [16]byte{0xca, 0x5e, 1}

type item struct {
	rec     Record
	payload []byte
}

func sampleItems(t testing.TB, key testKey) []item {
	t.Helper()
	e := &logentry.Entry{Type: logentry.CaseCreated, Day: 20780, Case: caseID, Actor: "reporter"}
	eb, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cp := &logentry.SignedCheckpoint{Checkpoint: logentry.Checkpoint{Origin: "candor-test", Size: 3, Hash: tlog.RecordHash(eb)}}
	if err := cp.Sign(key); err != nil {
		t.Fatal(err)
	}
	pub := key.priv.Public().(ed25519.PublicKey)
	hdr := []byte("age-encryption.org/v1\n-> mlkem768x25519 AAAA\nBBBB\n--- CCCC\n")
	return []item{
		{&Header{ServerKey: pub, ServerOrigin: "candor-test", Reviewer: fp, Since: 0, Until: 7, Day: 20782}, nil},
		{&Checkpoint{*cp}, nil},
		{&Consistency{FromSize: 1, Proof: tlog.TreeProof{tlog.RecordHash(nil), tlog.RecordHash([]byte{1})}}, nil},
		{&Consistency{FromSize: 0}, nil},
		{&LogEntry{Index: 0, Entry: eb}, nil},
		{&LogEntry{Index: 2, Entry: eb, Proof: tlog.RecordProof{{1}, {2}}}, nil},
		{&Case{ID: caseID, Category: "Beschaffung/Vergabe", Received: 20780, AckDue: 20787, FeedbackDue: 20877,
			Status: "in-review", Reviewers: []string{fp, "zzzz-zzzz"}, ReporterRecipient: "age1pq1xyz",
			Holds: []string{fp}, LogIndex: 0}, nil},
		{&Case{ID: [16]byte{2}, Status: "closed", Closed: 20000, Deleted: true, LogIndex: 1}, nil},
		{&Change{Case: caseID, Kind: ChangeStatus, Author: fp, Seq: 40, Day: 20781, Status: "in-review",
			Sig: bytes.Repeat([]byte{0x5d}, 3373)}, nil},
		{&Change{Case: caseID, Kind: ChangeHold, Author: fp, Seq: 41, Day: 20781, Hold: true, Sig: []byte{1}}, nil},
		{&Card{Text: []byte("candor-card/v1\nname: test\n")}, nil},
		{&CaseIndex{Cases: [][16]byte{{1}, {2}, caseID}}, nil},
		{&Blob{Case: caseID, ID: [16]byte{9}, Kind: BlobReport, Author: "reporter", Day: 20780, Header: hdr, Size: 5}, []byte("\x00\x01\x02\x03\x04")},
		{&Blob{Case: caseID, ID: [16]byte{10}, Kind: BlobReply, Author: fp, Day: 20781, Header: hdr, Size: 0,
			Seq: 42, SignedDay: 20780, Sig: bytes.Repeat([]byte{0x5e}, 3373)}, nil},
		{&Blob{Case: caseID, ID: [16]byte{12}, Kind: BlobReply, Author: fp, Day: 20781, Header: hdr, Size: 3}, []byte("abc")},
		{&Blob{Case: caseID, ID: [16]byte{11}, Kind: BlobFollowUp, Author: "reporter", Day: 20781, Header: hdr, Size: 70000}, bytes.Repeat([]byte{7}, 70000)},
	}
}

func write(t testing.TB, items []item, s Signer) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, it := range items {
		if err := writeItem(w, it); err != nil {
			t.Fatalf("writing %T: %v", it.rec, err)
		}
	}
	if err := w.Close(s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeItem(w *Writer, it item) error {
	switch r := it.rec.(type) {
	case *Header:
		return w.Header(r)
	case *Checkpoint:
		return w.Checkpoint(&r.SignedCheckpoint)
	case *Consistency:
		return w.Consistency(r)
	case *LogEntry:
		return w.LogEntry(r)
	case *Case:
		return w.Case(r)
	case *CaseIndex:
		return w.CaseIndex(r)
	case *Card:
		return w.Card(r)
	case *Change:
		return w.Change(r)
	case *Blob:
		pw, err := w.Blob(r)
		if err != nil {
			return err
		}
		_, err = pw.Write(it.payload)
		return err
	}
	return fmt.Errorf("unknown record %T", it.rec)
}

// readAll parses a whole bundle, keeping payloads; it does not check signatures.
func readAll(b []byte) ([]item, *Reader, error) {
	r := NewReader(bytes.NewReader(b))
	var items []item
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return items, r, nil
		}
		if err != nil {
			return nil, r, err
		}
		it := item{rec: rec}
		if _, ok := rec.(*Blob); ok {
			if it.payload, err = io.ReadAll(r); err != nil {
				return nil, r, err
			}
		}
		items = append(items, it)
	}
}

func TestRoundTrip(t *testing.T) {
	key := newTestKey(1)
	items := sampleItems(t, key)
	b := write(t, items, key)
	got, r, err := readAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("got %d records, want %d", len(got), len(items))
	}
	for i := range items {
		if !reflect.DeepEqual(got[i].rec, items[i].rec) || !bytes.Equal(got[i].payload, items[i].payload) {
			t.Errorf("record %d: got %+v, want %+v", i, got[i].rec, items[i].rec)
		}
	}
	if err := r.End(key); err != nil {
		t.Errorf("End: %v", err)
	}
	if err := r.End(newTestKey(2)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("End with another key: got %v, want ErrBadSignature", err)
	}
	h, err := Verify(bytes.NewReader(b), key)
	if err != nil || h.Reviewer != fp {
		t.Errorf("Verify: %v, %v", h, err)
	}
	if _, err := Verify(bytes.NewReader(b), newTestKey(2)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify with another key: got %v, want ErrBadSignature", err)
	}
	pinned := errors.New("server key changed")
	_, err = VerifyFunc(bytes.NewReader(b), func(*Header) (Verifier, error) { return nil, pinned })
	if err != pinned {
		t.Errorf("VerifyFunc: got %v, want the chooser's error", err)
	}
}

func TestSkipPayload(t *testing.T) {
	key := newTestKey(1)
	b := write(t, sampleItems(t, key), key)
	r := NewReader(bytes.NewReader(b))
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := r.End(key); err != nil || n != len(sampleItems(t, key)) {
		t.Errorf("got %d records, End %v; want %d, nil", n, err, len(sampleItems(t, key)))
	}
}

// smallItems is sampleItems with the large payload cut to 10 bytes.
func smallItems(t testing.TB, key testKey) []item {
	items := sampleItems(t, key)
	last := len(items) - 1
	items[last].payload = items[last].payload[:10]
	items[last].rec.(*Blob).Size = 10
	return items
}

func TestDamage(t *testing.T) {
	key := newTestKey(1)
	b := write(t, smallItems(t, key), key)
	for i := 0; i < len(b); i++ {
		if _, _, err := readAll(b[:i]); !errors.Is(err, ErrTruncated) && !(i < len(magic) && errors.Is(err, ErrVersion)) {
			t.Fatalf("cut at %d: got %v, want ErrTruncated", i, err)
		}
	}
	for i := 0; i < len(b); i += 7 {
		m := bytes.Clone(b)
		m[i] ^= 0x40
		if _, err := Verify(bytes.NewReader(m), key); err == nil {
			t.Fatalf("flipped byte %d: Verify succeeded", i)
		}
	}
	// A change inside a blob payload parses, but the hash no longer matches.
	m := bytes.Clone(b)
	m[len(m)-100] ^= 1
	if _, _, err := readAll(m); !errors.Is(err, ErrCorrupt) {
		t.Errorf("payload change: got %v, want ErrCorrupt", err)
	}
	if _, _, err := readAll(append(bytes.Clone(b), 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: got %v, want ErrMalformed", err)
	}
	if _, _, err := readAll(append([]byte("candor-bundle/v2\n"), b[len(magic):]...)); !errors.Is(err, ErrVersion) {
		t.Errorf("v2: got %v, want ErrVersion", err)
	}
	// Re-signed by another key: the hash matches, the signature does not.
	other := write(t, sampleItems(t, key), newTestKey(3))
	if _, err := Verify(bytes.NewReader(other), key); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other signer: got %v, want ErrBadSignature", err)
	}
}

// seal wraps a record stream (without magic and End) into a bundle with a correct hash.
func seal(body []byte, key Signer) []byte {
	b := append([]byte(magic), body...)
	sum := sha256.Sum256(b)
	sig, _ := key.Sign(SignatureContext, sum[:])
	p := append(sum[:], sig...)
	b = append(b, byte(TypeEnd))
	b = append(b, uvarint(len(p))...)
	return append(b, p...)
}

func uvarint(n int) []byte {
	var b []byte
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

func rec(t RecordType, p []byte) []byte {
	return append(append([]byte{byte(t)}, uvarint(len(p))...), p...)
}

func TestMalformed(t *testing.T) {
	key := newTestKey(1)
	items := sampleItems(t, key)
	enc := func(i int) []byte {
		p, err := items[i].rec.marshal()
		if err != nil {
			t.Fatal(err)
		}
		return rec(items[i].rec.Type(), p)
	}
	hdr, cp, cons, le, cs := enc(0), enc(1), enc(2), enc(4), enc(6)
	st, hold := enc(8), enc(9)
	// change is a hold change whose payload fn rewrites.
	change := func(fn func(*Change)) []byte {
		c := *items[9].rec.(*Change)
		fn(&c)
		var e encoder
		e.raw(c.Case[:])
		e.u8(byte(c.Kind))
		e.str8(c.Author)
		e.u64(c.Seq)
		e.u32(uint32(c.Day))
		e.str8(c.Status)
		e.u8(boolByte(c.Hold))
		e.u16(len(c.Sig))
		e.raw(c.Sig)
		return rec(TypeChange, e.b)
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	blob := func(size int64, payload string) []byte {
		b := *items[12].rec.(*Blob)
		b.Size = size
		p, _ := b.marshal()
		return append(rec(TypeBlob, p), payload...)
	}
	patch := func(r []byte, off int, c byte) []byte { r = bytes.Clone(r); r[off] = c; return r }
	// signed turns the report blob's empty signature (the last 2 bytes) into sig.
	signed := func(sig string) []byte {
		p, _ := items[12].rec.(*Blob).marshal()
		p = append(p[:len(p)-2], byte(len(sig)>>8), byte(len(sig)))
		return append(rec(TypeBlob, append(p, sig...)), "\x00\x01\x02\x03\x04"...)
	}
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"ok", join(hdr, cp, cons, le, cs, blob(2, "ab")), nil},
		{"empty", nil, ErrMalformed},
		{"no header", join(cp), ErrMalformed},
		{"no checkpoint", join(hdr, cs), ErrMalformed},
		{"two headers", join(hdr, hdr, cp), ErrMalformed},
		{"two checkpoints", join(hdr, cp, cp), ErrMalformed},
		{"case before entry", join(hdr, cp, cs, le), ErrMalformed},
		{"entry index repeated", join(hdr, cp, le, le), ErrMalformed},
		{"blob then case", join(hdr, cp, blob(0, ""), cs), ErrMalformed},
		{"blob payload runs into end", join(hdr, cp, blob(5, "ab")), ErrTruncated},
		{"unknown type", join(hdr, cp, rec(9, nil)), ErrMalformed},
		{"index after blob", join(hdr, cp, blob(0, ""), enc(11)), ErrMalformed},
		{"card after index", join(hdr, cp, enc(11), enc(10)), ErrMalformed},
		{"card then index", join(hdr, cp, cs, enc(10), enc(11), blob(0, "")), nil},
		{"two indexes", join(hdr, cp, enc(11), enc(11)), ErrMalformed},
		{"index before case", join(hdr, cp, enc(11), cs), ErrMalformed},
		{"index unsorted", join(hdr, cp, rec(TypeCaseIndex, []byte{0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})), ErrMalformed},
		{"type zero", join(hdr, cp, rec(0, nil)), ErrMalformed},
		{"non-minimal length", join(hdr, cp, []byte{byte(TypeCase), 0x80, 0x00}), ErrMalformed},
		{"huge length", join(hdr, cp, []byte{byte(TypeCase), 0xff, 0xff, 0xff, 0x7f}), ErrMalformed},
		{"record trailing byte", join(hdr, cp, rec(TypeCase, append(cs[2:], 0))), ErrMalformed},
		{"case status", join(hdr, cp, patch(cs, 2+16+1+19+16+1, 'X')), ErrMalformed},
		{"origin mismatch", join(rec(TypeHeader, func() []byte {
			h := *items[0].rec.(*Header)
			h.ServerOrigin = "elsewhere"
			p, _ := h.marshal()
			return p
		}()), cp), ErrMalformed},
		{"entry beyond checkpoint", join(hdr, cp, rec(TypeLogEntry, func() []byte {
			l := *items[4].rec.(*LogEntry)
			l.Index = 3
			p, _ := l.marshal()
			return p
		}())), ErrMalformed},
		{"signature on a report", join(hdr, cp, cs, signed("x")), ErrMalformed},
		{"report without signature", join(hdr, cp, cs, signed("")), nil},
		{"signed reply", join(hdr, cp, cs, enc(13)), nil},
		{"changes", join(hdr, cp, cs, st, hold, enc(10), enc(11)), nil},
		{"change before case", join(hdr, cp, st, cs), ErrMalformed},
		{"change after card", join(hdr, cp, cs, enc(10), st), ErrMalformed},
		{"change without signature", join(hdr, cp, change(func(c *Change) { c.Sig = nil })), ErrMalformed},
		{"change of zero case", join(hdr, cp, change(func(c *Change) { c.Case = [16]byte{} })), ErrMalformed},
		{"change of unknown kind", join(hdr, cp, change(func(c *Change) { c.Kind = 1 })), ErrMalformed},
		{"hold with a status", join(hdr, cp, change(func(c *Change) { c.Status = "closed" })), ErrMalformed},
		{"status change without status", join(hdr, cp, change(func(c *Change) { c.Kind, c.Hold = ChangeStatus, false })), ErrMalformed},
		{"status change with hold", join(hdr, cp, change(func(c *Change) { c.Kind, c.Status = ChangeStatus, "closed" })), ErrMalformed},
		{"unknown status", join(hdr, cp, change(func(c *Change) { c.Kind, c.Status, c.Hold = ChangeStatus, "done", false })), ErrMalformed},
		{"hold byte 2", join(hdr, cp, patch(hold, len(hold)-4, 2)), ErrMalformed},
		{"change author empty", join(hdr, cp, change(func(c *Change) { c.Author = "" })), ErrMalformed},
		{"bad log entry", join(hdr, cp, rec(TypeLogEntry, append(make([]byte, 8), 0, 1, 'x'))), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(seal(tt.body, key))
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWriterRejects(t *testing.T) {
	key := newTestKey(1)
	items := sampleItems(t, key)
	w := NewWriter(io.Discard)
	if err := w.Case(items[6].rec.(*Case)); !errors.Is(err, ErrState) {
		t.Errorf("case first: got %v, want ErrState", err)
	}
	w = NewWriter(io.Discard)
	if err := w.Close(key); !errors.Is(err, ErrState) {
		t.Errorf("empty Close: got %v, want ErrState", err)
	}
	bad := []Record{
		&Header{ServerOrigin: "o", Reviewer: fp},
		&Header{ServerKey: []byte{1}, ServerOrigin: "o", Reviewer: fp, Since: 2, Until: 1},
		&Header{ServerKey: []byte{1}, ServerOrigin: "a b", Reviewer: fp},
		&Case{ID: caseID, Status: "buried"},
		&Case{Status: "closed"},
		&Case{ID: caseID, Status: "closed", Category: "a\nb"},
		&Case{ID: caseID, Status: "closed", Reviewers: make([]string, 65)},
		&Blob{Case: caseID, ID: caseID, Kind: BlobReport, Author: "reporter", Header: []byte("not age")},
		&Blob{Case: caseID, ID: caseID, Kind: 4, Author: "reporter", Header: []byte(ageMagic)},
		&Blob{Case: caseID, ID: caseID, Kind: BlobReport, Author: "reporter", Header: []byte(ageMagic), Size: -1},
		&LogEntry{Index: 0, Entry: []byte("junk")},
		&Consistency{FromSize: 1, Proof: make(tlog.TreeProof, 65)},
	}
	for _, r := range bad {
		if _, err := r.marshal(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%T %+v: got %v, want ErrInvalid", r, r, err)
		}
	}
	w = NewWriter(io.Discard)
	w.Header(items[0].rec.(*Header))
	w.Checkpoint(&items[1].rec.(*Checkpoint).SignedCheckpoint)
	pw, _ := w.Blob(&Blob{Case: caseID, ID: caseID, Kind: BlobReport, Author: "reporter", Header: []byte(ageMagic), Size: 2})
	if _, err := pw.Write([]byte("abc")); !errors.Is(err, ErrState) {
		t.Errorf("long payload: got %v, want ErrState", err)
	}
	w = NewWriter(io.Discard)
	w.Header(items[0].rec.(*Header))
	w.Checkpoint(&items[1].rec.(*Checkpoint).SignedCheckpoint)
	pw, _ = w.Blob(&Blob{Case: caseID, ID: caseID, Kind: BlobReport, Author: "reporter", Header: []byte(ageMagic), Size: 2})
	pw.Write([]byte("a"))
	if err := w.Close(key); !errors.Is(err, ErrState) {
		t.Errorf("short payload: got %v, want ErrState", err)
	}
}

func TestErrorsHoldNoContent(t *testing.T) {
	key := newTestKey(1)
	items := sampleItems(t, key)
	items[6].rec.(*Case).Category = "SECRET\x01"
	if _, err := items[6].rec.marshal(); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("got %v, want an error without the category", err)
	}
}

func FuzzBundle(f *testing.F) {
	key := newTestKey(1)
	items := smallItems(f, key)
	full := write(f, items, key)
	f.Add(full)
	f.Add(full[len(magic) : len(full)-1-1-32-64]) // the record stream, for the sealed path
	f.Add(write(f, items[:2], key))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The raw bytes (mostly stopped by the hash), and the same bytes as a record stream
		// sealed with a correct hash and signature, which reaches every record parser.
		for _, in := range [][]byte{b, seal(b, key)} {
			got, r, err := readAll(in)
			if err != nil {
				continue
			}
			if err := r.End(key); err != nil && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("End: %v", err)
			}
			out := write(t, got, fixedSigner(r.sig))
			if !bytes.Equal(out, in) {
				t.Fatalf("Marshal(Parse(b)) != b")
			}
		}
	})
}

// BenchmarkBlob writes a bundle holding one 256 MiB blob through an io.Pipe and reads it back,
// checking the hash and signatures: the payload is streamed, never buffered.
func BenchmarkBlob(b *testing.B) {
	const size = 256 << 20
	key := newTestKey(1)
	items := sampleItems(b, key)[:2]
	hdr := []byte(ageMagic + "-> X25519 AAAA\n--- BBBB\n")
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		pr, pw := io.Pipe()
		go func() {
			w := NewWriter(pw)
			for _, it := range items {
				writeItem(w, it)
			}
			p, _ := w.Blob(&Blob{Case: caseID, ID: caseID, Kind: BlobReport, Author: "reporter", Header: hdr, Size: size})
			chunk := make([]byte, 1<<20)
			for range size / len(chunk) {
				p.Write(chunk)
			}
			pw.CloseWithError(w.Close(key))
		}()
		if _, err := Verify(pr, key); err != nil {
			b.Fatal(err)
		}
	}
}
