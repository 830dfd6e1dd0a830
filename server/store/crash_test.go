package store

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The crash tests re-execute the test binary as a child process (selected by
// helperEnv) that writes to a store and reports progress on stdout; the
// parent SIGKILLs it at a chosen point and checks what the next Open finds.

const helperEnv = "CANDOR_STORE_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode, os.Getenv(helperEnv+"_PATH")); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	committedData = 5*testChunk + 123 // payload of the case committed before the crash
	closedData    = 3*testChunk + 7   // payload of the blob closed before the crash
)

// runHelper commits one case, prints "committed ID", then:
//   - "write": writes an endless blob, printing "chunk N" after each chunk;
//   - "closed": writes and closes a blob, prints "closed", and waits;
//   - "loop": commits case after case, printing "committed ID" after each;
//   - "batch": as "write", with CommitChunks 4.
func runHelper(mode, path string) error {
	opts := testOptions()
	if mode == "batch" {
		mode, opts.CommitChunks = "write", batchChunks
	}
	s, err := Open(path, opts)
	if err != nil {
		return err
	}
	_ = s.SetLogOrigin(testOrigin) // refused (and kept) once the log has entries
	if err := helperCase(s, 0); err != nil {
		return err
	}
	switch mode {
	case "write":
		w, err := s.NewBlob()
		if err != nil {
			return err
		}
		w.SetHeader([]byte("header of the interrupted blob"))
		for i := 0; ; i++ {
			if _, err := w.Write(payload(uint64(i), testChunk)); err != nil {
				return err
			}
			fmt.Printf("chunk %d\n", i)
		}
	case "closed":
		if _, err := closedBlob(s, 7, closedData); err != nil {
			return err
		}
		fmt.Println("closed")
		select {}
	case "loop":
		for i := 1; ; i++ {
			if err := helperCase(s, i); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// helperCase commits case number i and prints its ID.
func helperCase(s *Store, i int) error {
	id, err := closedBlob(s, uint64(i), committedData)
	if err != nil {
		return err
	}
	c := newCase(byte(i), id)
	rand.Read(c.Lookup[8:]) // the file may already hold cases of earlier helpers
	if _, err := s.CreateCase(c, []BlobID{id}, [][]byte{fmt.Appendf(nil, "case %d", i)}); err != nil {
		return err
	}
	fmt.Printf("committed %d %s\n", i, c.ID)
	return nil
}

func closedBlob(s *Store, seed uint64, n int) (BlobID, error) {
	w, err := s.NewBlob()
	if err != nil {
		return BlobID{}, err
	}
	w.SetHeader(fmt.Appendf(nil, "header %d", seed))
	if _, err := w.Write(payload(seed, n)); err != nil {
		return BlobID{}, err
	}
	return w.Close()
}

// crash runs the helper in mode and SIGKILLs it once stop returns true for a
// line of its output. It returns the cases the helper reported committed.
func crash(t *testing.T, path, mode string, stop func(line string) bool) map[int]CaseID {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperEnv+"_PATH="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := map[int]CaseID{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var i int
		var id string
		if n, _ := fmt.Sscanf(sc.Text(), "committed %d %s", &i, &id); n == 2 {
			committed[i], _ = ParseCaseID(id)
		}
		if stop(sc.Text()) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("helper was not killed: %v; stderr: %s", err, stderr.String())
	}
	return committed
}

// reopen opens the store left by a killed helper and checks that every case
// it reported is intact and nothing else remains: no pending blob, no orphan
// chunk or header.
func reopen(t *testing.T, path string, committed map[int]CaseID) (*Store, Sweep) {
	t.Helper()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	checkInvariants(t, s)
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 0 || st.PendingBytes != 0 {
		t.Errorf("after reopen: %d pending blobs (%d bytes), want none", st.Pending, st.PendingBytes)
	}
	for i, id := range committed {
		c, err := s.Case(id)
		if err != nil {
			t.Fatalf("committed case %d: %v", i, err)
		}
		h, p := readBlob(t, s, c.Messages[0].Blob)
		if string(h) != fmt.Sprintf("header %d", i) || !bytes.Equal(p, payload(uint64(i), committedData)) {
			t.Errorf("committed case %d: blob differs after the crash", i)
		}
	}
	return s, s.Swept()
}

func TestKillMidWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "candor.db")
	committed := crash(t, path, "write", func(l string) bool { return l == "chunk 20" })
	s, sw := reopen(t, path, committed)
	// Write had returned for 21 chunks; up to DefaultInFlight of them may still have been in
	// the committer's hands.
	if sw.Blobs != 1 || sw.Chunks < 21-DefaultInFlight || sw.Headers != 0 {
		t.Errorf("Swept = %+v, want 1 blob, at least %d chunks, no header", sw, 21-DefaultInFlight)
	}
	n := keyCounts(t, s)
	if want := committedData/testChunk + 1; n["cases"] != 1 || n["headers"] != 1 || n["chunks"] != want || n["pending"] != 0 {
		t.Errorf("keys after reopen: %v; want only the committed case: 1 case, 1 header, %d chunks", n, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = reopen(t, path, committed) // a second open finds nothing more to sweep
	if sw := s.Swept(); sw != (Sweep{}) {
		t.Errorf("second reopen swept %+v, want nothing", sw)
	}
}

func TestKillBetweenCloseAndCreateCase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "candor.db")
	committed := crash(t, path, "closed", func(l string) bool { return l == "closed" })
	s, sw := reopen(t, path, committed)
	if want := (Sweep{Blobs: 1, Chunks: closedData/testChunk + 1, Headers: 1}); sw != want {
		t.Errorf("Swept = %+v, want %+v", sw, want)
	}
	if st, _ := s.Stats(); st.Cases != 1 || st.Blobs != 1 {
		t.Errorf("after reopen: %d cases, %d blobs; want 1 and 1", st.Cases, st.Blobs)
	}
}

// TestKillAnywhere kills a helper that commits cases back to back, at whatever
// point it has reached — often inside a commit.
func TestKillAnywhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "candor.db")
	for round := range 2 {
		committed := crash(t, path, "loop", func(l string) bool { return strings.HasPrefix(l, "committed 3 ") })
		s, _ := reopen(t, path, committed)
		if st, _ := s.Stats(); st.Cases < 4*(round+1) {
			t.Errorf("round %d: %d cases, want at least %d", round, st.Cases, 4*(round+1))
		}
		s.Close()
	}
}
