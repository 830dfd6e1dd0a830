// Package synctest runs a real Candor server in-process on a loopback listener for the tests of
// the sync path (candor sync, candor-inbox): it creates or reopens an installation in a
// directory, registers reviewers with sync tokens, submits reports over HTTP exactly as a browser
// does, and pulls and pushes through the sync API. It is for tests only.
package synctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"

	"candor/admin"
	"candor/candortest"
	"candor/crypto"
	"candor/installation"
	"candor/internal/day"
	"candor/server"
	"candor/server/store"
	"candor/syncclient"
)

// KDF are the cheapest receipt-derivation parameters the crypto package accepts.
var KDF = candortest.KDF

// Server is a running server. Close it.
type Server struct {
	Dir    string
	URL    string
	Store  *store.Store
	Srv    *server.Server
	now    func() time.Time
	cancel context.CancelFunc
	done   chan error
}

// Start opens (initialising if needed) the installation in dir and serves both surfaces on a
// loopback port. now may be nil.
func Start(dir string, now func() time.Time) (*Server, error) {
	if now == nil {
		now = time.Now
	}
	st, err := installation.OpenStore(dir, now)
	if err != nil {
		return nil, err
	}
	err = installation.Init(st, installation.InitOptions{KDF: KDF, Now: now})
	if err != nil && !errors.Is(err, installation.ErrInitialised) {
		st.Close()
		return nil, err
	}
	srv, err := server.New(server.Config{Store: st, Now: now, MaxKDF: 2})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Dir: dir, URL: "http://" + ln.Addr().String(), Store: st, Srv: srv, now: now,
		cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln, nil) }()
	return s, nil
}

// ServerKey returns the server key's fingerprint: what the admin gives a reviewer with the token,
// for their inbox's first import (inbox.TrustServer).
func (s *Server) ServerKey() string {
	fp, err := installation.ServerKeyFingerprint(s.Store)
	if err != nil {
		panic(err) // Start initialised the store: its keys load
	}
	return fp
}

// Close stops the server and closes the store.
func (s *Server) Close() error {
	s.cancel()
	err := <-s.done
	return errors.Join(err, s.Store.Close())
}

// AddReviewer registers card (if it is not yet) and gives the reviewer a new sync token.
func (s *Server) AddReviewer(card []byte) (fp, token string, err error) {
	c, err := crypto.ParseCard(card)
	if err != nil {
		return "", "", err
	}
	fp = c.Fingerprint()
	if _, err := s.Store.Reviewer(fp); errors.Is(err, store.ErrNotFound) {
		if _, err := installation.AddReviewer(s.Store, card, day.FromTime(s.now())); err != nil {
			return "", "", err
		}
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token = base64.RawURLEncoding.EncodeToString(raw)
	_, err = s.Store.UpdateReviewer(fp, func(r *store.Reviewer) error {
		r.TokenHash = sha256.Sum256([]byte(token))
		return nil
	}, nil)
	return fp, token, err
}

// File is an attachment of a submission.
type File struct {
	Name string
	Body []byte
}

// Submit posts a report (POST /report, multipart) to the given reviewers (nil: all) and returns
// the receipt code.
func (s *Server) Submit(message string, reviewers []string, files ...File) (string, error) {
	parts := make([]candortest.Part, len(files))
	for i, f := range files {
		parts[i] = candortest.File(f.Name, f.Body)
	}
	body, ct := candortest.Report(message, reviewers, parts...)
	resp, err := http.Post(s.URL+"/report", ct, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	code := candortest.ReceiptCode(page)
	if resp.StatusCode != http.StatusOK || code == "" {
		return "", fmt.Errorf("POST /report: status %d, no receipt", resp.StatusCode)
	}
	return code, nil
}

// Pull fetches the reviewer's bundle (since "" = from the acknowledged cursor) into w, through
// syncclient (the client candor sync uses).
func (s *Server) Pull(token, since string, w io.Writer) error {
	c, err := syncclient.New(s.URL, token, "")
	if err != nil {
		return err
	}
	body, err := c.Pull(context.Background(), since)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(w, body)
	return err
}

// Push sends an outbox through syncclient and returns the number of envelopes accepted.
func (s *Server) Push(token string, outbox io.Reader) (int, error) {
	c, err := syncclient.New(s.URL, token, "")
	if err != nil {
		return 0, err
	}
	return c.Push(context.Background(), outbox, -1)
}

// FollowUp logs in with receipt code (POST /followup) and sends message as a further message of
// the case (POST /followup/message), as the reporter's browser does. It returns the status of the
// message's answer (303 or 200 when it was accepted).
func (s *Server) FollowUp(code, message string) (int, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.PostForm(s.URL+"/followup", url.Values{"receipt": {code}})
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST /followup: status %d", resp.StatusCode)
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("message", message)
	w.Close()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = hc.Post(s.URL+"/followup/message", w.FormDataContentType(), &b)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Witness makes the server ask its configured witnesses to cosign before every bundle, and returns
// the witness client, whose Cosign a test calls after appends (its background loop is not run, so
// a test decides when the witnesses are asked).
func (s *Server) Witness() *admin.WitnessClient {
	wc, err := admin.NewWitnessClient(admin.WitnessConfig{Store: s.Store, Log: slog.New(slog.DiscardHandler),
		Timeout: 10 * time.Second})
	if err != nil {
		panic(err) // no SOCKS address: it cannot fail
	}
	s.Srv.SetCosigner(wc.Cosign)
	return wc
}
