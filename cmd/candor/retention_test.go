package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"candor/admin"
	"candor/installation"
	"candor/internal/day"
	"candor/server/store"
)

// retentionData makes an initialised data directory with one case closed on closed.
func retentionData(t *testing.T, closed day.Day) string {
	t.Helper()
	dir := t.TempDir()
	st, err := installation.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := installation.Init(st, installation.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := st.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ciphertext"))
	w.SetHeader([]byte("age-encryption.org/v1\n-> X25519 test\n--- mac\n"))
	id, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Case{Category: installation.DefaultCategory, Received: closed, Closed: closed, Status: "closed",
		Messages: []store.Message{{Blob: id, Kind: store.KindReport, Author: store.AuthorReporter, Day: closed}}}
	rand.Read(c.Lookup[:])
	if _, err := st.CreateCase(c, []store.BlobID{id}, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRetentionCommand(t *testing.T) {
	today := day.FromTime(time.Now())
	closed := today.AddDays(-installation.DefaultRetentionDays - 10)
	dir := retentionData(t, closed)
	tests := []struct {
		name string
		args []string
		code int
		want retentionResult
		err  string
	}{
		{"future", []string{"--now", today.AddDays(1).String()}, 1, retentionResult{}, "after today"},
		{"bad day", []string{"--now", "yesterday"}, 1, retentionResult{}, "invalid date"},
		{"not yet due", []string{"--now", closed.AddDays(364).String()}, 0,
			retentionResult{Day: closed.AddDays(364).String()}, ""},
		{"dry run", []string{"--dry-run"}, 0, retentionResult{Day: today.String(), DryRun: true, Due: 1}, ""},
		{"delete", nil, 0, retentionResult{Day: today.String(), Due: 1, Deleted: 1}, ""},
		{"again", nil, 0, retentionResult{Day: today.String()}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"retention", "--data", dir, "--json"}, tt.args...)
			if code := run(args, &out, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, errb.String())
			}
			if tt.code != 0 {
				if !strings.Contains(errb.String(), tt.err) {
					t.Errorf("stderr lacks %q:\n%s", tt.err, errb.String())
				}
				return
			}
			var got retentionResult
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	st, err := installation.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := admin.CheckLog(st)
	if err != nil || rep.RetentionDeleted != 1 {
		t.Errorf("CheckLog: got %+v, %v; want one retention deletion", rep, err)
	}
}
