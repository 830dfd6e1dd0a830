package admin_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"candor/admin"
	"candor/installation"
	"candor/internal/checkpoint"
	"candor/internal/testenv"
)

func newWitnessClient(t testing.TB, e *adminEnv, timeout time.Duration) *admin.WitnessClient {
	t.Helper()
	wc, err := admin.NewWitnessClient(admin.WitnessConfig{Store: e.st, Log: slog.New(slog.DiscardHandler), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return wc
}

func cosign(wc *admin.WitnessClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wc.Cosign(ctx)
}

// TestWitnessCosigns: a configured litewitness cosigns the log after a round; status shows the
// log's origin and key (what the witness was given), the witnessed size and no alarm; the stored
// note verifies with the witness's key; removing the witness is logged.
func TestWitnessCosigns(t *testing.T) {
	lw := testenv.StartLitewitness(t)
	e := newAdminEnv(t, nil)
	st, err := e.a.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.LogOrigin, "candor.invalid/") || !strings.HasPrefix(st.LogKey, st.LogOrigin+"+") {
		t.Fatalf("status log origin %q, key %q", st.LogOrigin, st.LogKey)
	}
	lw.AddLog(t, st.LogOrigin, st.LogKey)
	if _, err := e.a.AddWitness(lw.URL, lw.VKey); err != nil {
		t.Fatal(err)
	}
	wc := newWitnessClient(t, e, 10*time.Second)
	cosign(wc)
	st, _ = e.a.Status()
	if st.WitnessedSize != st.LogSize || st.LogSize == 0 || len(st.Alarms) != 0 || st.Witnesses != 1 {
		t.Fatalf("status after a round: witnessed %d of %d, %d witnesses, alarms %v", st.WitnessedSize, st.LogSize, st.Witnesses, st.Alarms)
	}
	ws, _ := e.a.Witnesses()
	if len(ws) != 1 || ws[0].Cosigned != st.LogSize || ws[0].Name != lw.Name {
		t.Fatalf("witnesses: %+v", ws)
	}
	state, err := installation.LoadWitnessState(e.st, st.LogOrigin)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := installation.LoadKeys(e.st)
	lv, _ := checkpoint.NewLogVerifier(k.Log.LogKey())
	w, _ := checkpoint.NewCosignatureVerifier(lw.VKey)
	if _, err := checkpoint.Open(state.Note, lv, []*checkpoint.CosignatureVerifier{w}, 1); err != nil {
		t.Fatalf("the stored note does not carry the witness's cosignature: %v", err)
	}
	size := st.LogSize
	if err := e.a.RemoveWitness(lw.Name); err != nil {
		t.Fatal(err)
	}
	if st, _ = e.a.Status(); st.Witnesses != 0 || st.LogSize != size+1 {
		t.Fatalf("removing the witness: %d witnesses, log %d (want %d: the removal is logged)", st.Witnesses, st.LogSize, size+1)
	}
}

// TestWitnessDownOrGarbage: a witness that is down, answers garbage, or hangs (bounded by the
// timeout) leaves the log unwitnessed, raises no alarm, and the round returns.
func TestWitnessDownOrGarbage(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	handlers := map[string]http.HandlerFunc{
		"garbage": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>hello</html>\n")) },
		"down":    func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusServiceUnavailable) },
		"hangs": func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then the server notices the client hang up
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			e := newAdminEnv(t, nil)
			lw := testenv.StartLitewitness(t) // only for a well-formed witness key
			if _, err := e.a.AddWitness(srv.URL, lw.VKey); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			cosign(newWitnessClient(t, e, 500*time.Millisecond))
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("the round took %v", d)
			}
			st, _ := e.a.Status()
			if st.WitnessedSize != 0 || len(st.Alarms) != 0 {
				t.Fatalf("witnessed %d, alarms %v", st.WitnessedSize, st.Alarms)
			}
		})
	}
}

func TestAddWitnessRefusesBadInput(t *testing.T) {
	e := newAdminEnv(t, nil)
	lw := testenv.StartLitewitness(t)
	for _, tt := range []struct{ url, key string }{
		{"ftp://example.invalid", lw.VKey},
		{"http://", lw.VKey},
		{lw.URL, "not a key"},
		{lw.URL, strings.Replace(lw.VKey, "+", "+0", 1)},
	} {
		if _, err := e.a.AddWitness(tt.url, tt.key); !errors.Is(err, installation.ErrWitness) {
			t.Errorf("AddWitness(%q, %q): got %v, want ErrWitness", tt.url, tt.key, err)
		}
	}
	if ws, _ := e.a.Witnesses(); len(ws) != 0 {
		t.Fatalf("a bad witness was configured: %+v", ws)
	}
}

// BenchmarkCosignLatency: one log append per operation, alone and followed by a round with one
// loopback litewitness (sign the note, send it with a consistency proof, verify the cosignature,
// store the state). Compare the two ns/op for the cost of witnessing per append.
func BenchmarkCosignLatency(b *testing.B) {
	lw := testenv.StartLitewitness(b)
	e := newAdminEnv(b, nil)
	st, _ := e.a.Status()
	lw.AddLog(b, st.LogOrigin, st.LogKey)
	entry := []byte("candor-log-entry benchmark stand-in of about a hundred bytes ............................")
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.st.AppendLog([][]byte{entry}); err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, err := e.a.AddWitness(lw.URL, lw.VKey); err != nil {
		b.Fatal(err)
	}
	wc := newWitnessClient(b, e, 10*time.Second)
	b.Run("append+cosign", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.st.AppendLog([][]byte{entry}); err != nil {
				b.Fatal(err)
			}
			cosign(wc)
		}
	})
	if st, _ := e.a.Status(); st.WitnessedSize != st.LogSize || len(st.Alarms) != 0 {
		b.Fatalf("witnessed %d of %d, alarms %v", st.WitnessedSize, st.LogSize, st.Alarms)
	}
}
