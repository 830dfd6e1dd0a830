package candortest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"testing"
)

func TestReport(t *testing.T) {
	body, ct := Report("hello", []string{"fp1", "fp2"}, File("a.pdf", []byte("%PDF")))
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var got []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		got = append(got, p.FormName()+"|"+p.FileName()+"|"+string(b))
	}
	want := []string{"message||hello", "reviewer||fp1", "reviewer||fp2", "file|a.pdf|%PDF"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("part %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestReceiptCode(t *testing.T) {
	page := []byte(`<p id="receipt-code">alpha beta gamma</p>`)
	if got := ReceiptCode(page); got != "alpha beta gamma" {
		t.Errorf("got %q", got)
	}
	if got := ReceiptCode([]byte("<p>no code</p>")); got != "" {
		t.Errorf("got %q from a page without a code", got)
	}
}

func TestNewReviewer(t *testing.T) {
	r := NewReviewer(t, "Alice Example")
	if r.FP == "" || r.Card.Fingerprint() != r.FP || r.Card.Name() != "Alice Example" {
		t.Fatalf("reviewer %+v", r.Card)
	}
	if f := r.CardFile(t, t.TempDir()); !bytes.HasSuffix([]byte(f), []byte("alice-example.card")) {
		t.Errorf("card file %s", f)
	}
}
