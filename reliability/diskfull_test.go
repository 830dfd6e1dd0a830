package reliability

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"candor/installation"
	"candor/server/store"
)

// TestDiskFull puts the data directory on a 64 MiB tmpfs. A report that fits is stored; one that
// does not is refused with the fixed "busy, try later" page and leaves nothing behind; a small
// report still fits afterwards; the store opens and the earlier case is intact.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs and builds candor; skipped with -short")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (run as root to test a full disk): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	data := filepath.Join(dir, "data")
	in := newInstallation(t, data)
	p := in.serve(t)

	first := payload(1, 8<<20)
	if status, code, _, err := report(p.URL, "upload 1", "fits.bin", first); err != nil || status != http.StatusOK || code == "" {
		t.Fatalf("report that fits: status %d, receipt %q, %v", status, code, err)
	}
	status, code, page, err := report(p.URL, "upload 2", "too-big.bin", payload(2, 96<<20))
	if err != nil {
		t.Fatalf("report that does not fit: %v", err)
	}
	if status != http.StatusServiceUnavailable || code != "" || !errorPage(page) {
		t.Errorf("report that does not fit: status %d, receipt %q, error page %v; want 503, none, true", status, code, errorPage(page))
	}
	if status, code, _, err := report(p.URL, "upload 3", "small.bin", payload(3, 1<<20)); err != nil || status != http.StatusOK || code == "" {
		t.Errorf("small report after the full disk: status %d, receipt %q, %v; want 200 with a receipt", status, code, err)
	}
	p.Stop()
	if _, err := os.Stat(data); err != nil {
		t.Fatal(err)
	}

	st, err := installation.OpenStore(data, nil)
	if err != nil {
		t.Fatalf("opening the store after the disk was full: %v", err)
	}
	defer st.Close()
	stats := stateOf(t, st)
	if stats.Pending != 0 {
		t.Errorf("%d pending blobs after the refused upload; want none", stats.Pending)
	}
	sizes := map[int]int{1: 8 << 20, 3: 1 << 20}
	n := 0
	st.Cases(func(c *store.Case) error {
		n++
		msg, file := decryptReport(t, st, c.Messages[0].Blob, in.rev)
		var i int
		fmt.Sscanf(msg, "upload %d", &i)
		if want := payload(i, sizes[i]); sizes[i] == 0 || !bytes.Equal(file, want) {
			t.Errorf("case %q: file of %d bytes, want upload 1 or 3 intact", msg, len(file))
		}
		return nil
	})
	if n != 2 {
		t.Errorf("%d cases after the full disk, want 2", n)
	}
}
