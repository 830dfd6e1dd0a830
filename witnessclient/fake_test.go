package witnessclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const fakeOrigin = "candor.invalid/fake/epoch-1"

// fakeWitness answers add-checkpoint with handler.
func fakeWitness(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL
}

func noteText(msg []byte) []byte { return msg[:bytes.LastIndex(msg, []byte("\n\n"))+1] }

func TestFakeWitnessAnswers(t *testing.T) {
	s := newSigner(t, fakeOrigin)
	var tree memTree
	tree.grow(t, "r", 10)
	msg, prove := tree.sign(t, s)
	good, other := newCosigner(t, "w.example/w"), newCosigner(t, "other.example/w")
	redirectTarget := fakeWitness(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("the client followed a redirect")
	})
	size := func(n string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/x.tlog.size")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, n)
		}
	}
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) }
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    error
	}{
		{"cosigns", func(w http.ResponseWriter, r *http.Request) { w.Write(good.lines(t, noteText(msg))) }, nil},
		{"cosigns among strangers", func(w http.ResponseWriter, r *http.Request) {
			w.Write(append(other.lines(t, noteText(msg)), good.lines(t, noteText(msg))...))
		}, nil},
		{"another key's cosignature", func(w http.ResponseWriter, r *http.Request) { w.Write(other.lines(t, noteText(msg))) }, ErrBadResponse},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hello</html>\n") }, ErrBadResponse},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) {}, ErrBadResponse},
		{"oversize", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("— x AAAA\n"), 1<<17)) }, ErrBadResponse},
		{"larger tree: rollback", size("11\n"), ErrRollback},
		{"409 without size type", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, "5\n")
		}, ErrBadResponse},
		{"409 garbage size", size("five\n"), ErrBadResponse},
		{"422: fork", status(http.StatusUnprocessableEntity), ErrFork},
		{"403", status(http.StatusForbidden), ErrRefused},
		{"404", status(http.StatusNotFound), ErrRefused},
		{"400", status(http.StatusBadRequest), ErrRefused},
		{"500", status(http.StatusInternalServerError), ErrUnavailable},
		{"503", status(http.StatusServiceUnavailable), ErrUnavailable},
		{"418", status(http.StatusTeapot), ErrBadResponse},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, redirectTarget+"/add-checkpoint", http.StatusTemporaryRedirect)
		}, ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Witness{URL: fakeWitness(t, tt.handler), Key: good.verifier(t)}
			res, err := New(Config{}).AddCheckpoint(context.Background(), w, 0, msg, prove)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err == nil && !bytes.Equal(res.Lines, good.lines(t, noteText(msg))) {
				t.Errorf("lines %q", res.Lines)
			}
		})
	}
}

func TestHangingWitnessTimesOut(t *testing.T) {
	s := newSigner(t, fakeOrigin)
	var tree memTree
	tree.grow(t, "r", 3)
	msg, prove := tree.sign(t, s)
	release := make(chan struct{})
	url := fakeWitness(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // headers, then nothing: a witness stuck mid-answer
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c := New(Config{Timeout: 300 * time.Millisecond})
	_, err := c.AddCheckpoint(context.Background(), Witness{URL: url, Key: newCosigner(t, "w.example/w").verifier(t)}, 0, msg, prove)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

func TestUnreachableWitness(t *testing.T) {
	s := newSigner(t, fakeOrigin)
	var tree memTree
	tree.grow(t, "r", 3)
	msg, prove := tree.sign(t, s)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(Config{Timeout: time.Second}).AddCheckpoint(context.Background(), Witness{URL: url, Key: newCosigner(t, "w.example/w").verifier(t)}, 0, msg, prove)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

// TestConflictRetry: a witness that knows size 4 gets the request again from 4, with the proof
// from 4; one that names the submitted size again for the same tree size reports a fork.
func TestConflictRetry(t *testing.T) {
	s := newSigner(t, fakeOrigin)
	var tree memTree
	tree.grow(t, "r", 10)
	msg, prove := tree.sign(t, s)
	good := newCosigner(t, "w.example/w")
	wantProof, _ := prove(4)
	var requests atomic.Int32
	url := fakeWitness(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		head, _, _ := bytes.Cut(body, []byte("\n\n"))
		lines := strings.Split(string(head), "\n")
		if lines[0] != "old 4" {
			w.Header().Set("Content-Type", "text/x.tlog.size")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, "4\n")
			return
		}
		if len(lines)-1 != len(wantProof) || lines[1] != wantProof[0].String() {
			t.Errorf("retry carries proof %q, want %d hashes from size 4", lines[1:], len(wantProof))
		}
		w.Write(good.lines(t, noteText(msg)))
	})
	res, err := New(Config{}).AddCheckpoint(context.Background(), Witness{URL: url, Key: good.verifier(t)}, 0, msg, prove)
	if err != nil {
		t.Fatal(err)
	}
	if res.OldSize != 4 || requests.Load() != 2 {
		t.Errorf("old size %d after %d requests, want 4 after 2", res.OldSize, requests.Load())
	}

	sameSize := fakeWitness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/x.tlog.size")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "10\n")
	})
	_, err = New(Config{}).AddCheckpoint(context.Background(), Witness{URL: sameSize, Key: good.verifier(t)}, 3, msg, prove)
	if !errors.Is(err, ErrFork) {
		t.Fatalf("same size, other root: got %v, want ErrFork", err)
	}

	var n atomic.Int32
	moving := fakeWitness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/x.tlog.size")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "%d\n", n.Add(1))
	})
	_, err = New(Config{}).AddCheckpoint(context.Background(), Witness{URL: moving, Key: good.verifier(t)}, 0, msg, prove)
	if !errors.Is(err, ErrUnavailable) || n.Load() != maxAttempts {
		t.Fatalf("moving witness: got %v after %d requests, want ErrUnavailable after %d", err, n.Load(), maxAttempts)
	}
}

func TestRejectsBadInput(t *testing.T) {
	good := newCosigner(t, "w.example/w")
	url := fakeWitness(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent for bad input") })
	c := New(Config{})
	for name, msg := range map[string][]byte{
		"not a note":       []byte("hello"),
		"not a checkpoint": []byte("hello\n\n— x AAAAAAAA\n"),
	} {
		if _, err := c.AddCheckpoint(context.Background(), Witness{URL: url, Key: good.verifier(t)}, 0, msg, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
