package inbox_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"candor/inbox"
	"candor/server/synctest"
)

// TestDeskAPI: Unlock keeps the keys so that no passphrase is asked; Lock forgets them; Case and
// WriteFile give what Read and Export give.
func TestDeskAPI(t *testing.T) {
	f := newFixture(t)
	body := bytes.Repeat([]byte("ledger "), 20000)
	if _, err := f.srv.Submit("See the ledger.", nil, synctest.File{Name: "../a/ledger.csv", Body: body}); err != nil {
		t.Fatal(err)
	}
	f.importOK(f.pull(""))
	list, _ := f.in.List()
	id := list[0].Case
	v, err := f.in.Case(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) != 1 || v.Messages[0].Text != "See the ledger." || len(v.Messages[0].Files) != 1 {
		t.Fatalf("got %+v", v.Messages)
	}
	file := v.Messages[0].Files[0]
	if file.Name != "ledger.csv" || file.Size != int64(len(body)) {
		t.Errorf("got file %+v, want ledger.csv of %d bytes", file, len(body))
	}
	var got bytes.Buffer
	var name string
	err = f.in.WriteFile(id, v.Messages[0].Blob, file.Index, func(n string) (io.Writer, error) { name = n; return &got, nil })
	if err != nil || name != "ledger.csv" || !bytes.Equal(got.Bytes(), body) {
		t.Errorf("WriteFile: %v, name %q, %d bytes", err, name, got.Len())
	}
	if err := f.in.WriteFile(id, v.Messages[0].Blob, 0, nil); !errors.Is(err, inbox.ErrNoFile) {
		t.Errorf("WriteFile of the message part: got %v, want ErrNoFile", err)
	}
	if n, _ := f.in.Pending(); n != 0 {
		t.Errorf("pending: got %d, want 0", n)
	}
	f.in.SetStatus(id, "in-review")
	if n, _ := f.in.Pending(); n != 1 {
		t.Errorf("pending: got %d, want 1", n)
	}
	if err := f.in.Unlock(); err != nil || !f.in.Unlocked() {
		t.Fatalf("Unlock: %v", err)
	}
	f.in.Lock()
	if f.in.Unlocked() {
		t.Error("still unlocked after Lock")
	}
}

func TestFilter(t *testing.T) {
	list := []inbox.CaseInfo{
		{Case: "aa11", Status: "received", Category: "finance", Overdue: true},
		{Case: "bb22", Status: "closed", Category: "safety"},
		{Case: "cc33", Status: "missing", Category: "finance"},
	}
	tests := []struct {
		f    inbox.ListFilter
		want string
	}{
		{inbox.ListFilter{}, "aa11 bb22 cc33"},
		{inbox.ListFilter{Status: "closed"}, "bb22"},
		{inbox.ListFilter{Overdue: true}, "aa11"},
		{inbox.ListFilter{Search: " FINANCE "}, "aa11 cc33"},
		{inbox.ListFilter{Search: "bb2"}, "bb22"},
		{inbox.ListFilter{Search: "finance", Status: "missing"}, "cc33"},
		{inbox.ListFilter{Search: "nothing"}, ""},
	}
	for _, tt := range tests {
		var ids []string
		for _, c := range inbox.Filter(list, tt.f) {
			ids = append(ids, c.Case)
		}
		if got := join(ids); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.f, got, tt.want)
		}
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for i, v := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v)
	}
	return b.String()
}
