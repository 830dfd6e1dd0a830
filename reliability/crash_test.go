package reliability

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"candor/installation"
	"candor/server/store"
)

// TestCrashDuringUploads SIGKILLs `candor serve` while 50 uploads run concurrently (8 at a time in
// the server, the rest waiting for a slot), restarts it, and checks that
//   - every receipt the server issued before it died logs in;
//   - every case in the store is complete: its report decrypts to the message and file sent;
//   - no pending blob or chunk is left once the server has started again.
func TestCrashDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds candor and runs 50 uploads with the real KDF; skipped with -short")
	}
	const uploads, size, killAfter = 50, 1 << 20, 10
	data := filepath.Join(t.TempDir(), "data")
	in := newInstallation(t, data)
	p := in.serve(t)

	var mu sync.Mutex
	receipts := map[int]string{} // upload index → receipt code
	issued := make(chan struct{}, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			status, code, _, err := report(p.URL, fmt.Sprintf("upload %d", i), "f.bin", payload(i, size))
			if err == nil && status == http.StatusOK && code != "" {
				mu.Lock()
				receipts[i] = code
				mu.Unlock()
				issued <- struct{}{}
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	for range killAfter {
		select {
		case <-issued:
		case <-finished:
			t.Fatalf("every upload ended with fewer than %d receipts: %d\n%s", killAfter, len(receipts), p.Stderr)
		}
	}
	p.Kill()
	<-finished
	if len(receipts) == uploads {
		t.Fatalf("all %d uploads finished before the kill; nothing was interrupted", uploads)
	}

	p = in.serve(t)
	swept := regexp.MustCompile(`blobs=\d+ chunks=\d+`).FindString(p.Stderr.String())
	for i, code := range receipts {
		status, loc, err := login(p.URL, code)
		if err != nil || status != http.StatusSeeOther || loc != "/followup" {
			t.Errorf("upload %d: login with its receipt: status %d, Location %q, %v; want 303 to /followup", i, status, loc, err)
		}
	}
	p.Stop()

	st, err := installation.OpenStore(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if sw := st.Swept(); sw != (store.Sweep{}) {
		t.Errorf("opening after the restarted server stopped swept %+v; want nothing left over", sw)
	}
	stats := stateOf(t, st)
	if stats.Pending != 0 || stats.PendingBytes != 0 {
		t.Errorf("%d pending blobs (%d bytes) after restart; want none", stats.Pending, stats.PendingBytes)
	}
	cases := checkCases(t, st, in.rev, size)
	if cases < len(receipts) {
		t.Errorf("%d cases stored, but %d receipts were issued", cases, len(receipts))
	}
	t.Logf("killed with %d of %d receipts issued; %d complete cases stored (%d committed as the server died, their answer lost); restart: %q",
		len(receipts), uploads, cases, cases-len(receipts), swept)
}

// checkCases decrypts the report of every stored case and checks that it holds the message and
// the whole file of the upload it names. It returns the number of cases.
func checkCases(t *testing.T, st *store.Store, rev reviewer, size int) int {
	t.Helper()
	n := 0
	err := st.Cases(func(c *store.Case) error {
		n++
		msg, file := decryptReport(t, st, c.Messages[0].Blob, rev)
		var i int
		if _, err := fmt.Sscanf(msg, "upload %d", &i); err != nil {
			t.Errorf("case %d: message %q, want %q", n, msg, "upload N")
			return nil
		}
		if !bytes.Equal(file, payload(i, size)) {
			t.Errorf("upload %d: stored file of %d bytes differs from the %d sent", i, len(file), size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
