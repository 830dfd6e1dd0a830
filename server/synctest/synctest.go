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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"regexp"
	"time"

	"candor/crypto"
	"candor/internal/day"
	"candor/server"
	"candor/server/store"
)

// KDF are the cheapest receipt-derivation parameters the crypto package accepts.
var KDF = crypto.KDFParams{Memory: crypto.MinKDFMemory, Time: crypto.MinKDFTime, Threads: 1}

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
	st, err := server.OpenStore(dir, now)
	if err != nil {
		return nil, err
	}
	err = server.Init(st, server.InitOptions{KDF: KDF, Now: now})
	if err != nil && !errors.Is(err, server.ErrInitialised) {
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
		if _, err := server.AddReviewer(s.Store, card, day.FromTime(s.now())); err != nil {
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

var receiptRE = regexp.MustCompile(`id="receipt-code">([^<]+)<`)

// Submit posts a report (POST /report, multipart) to the given reviewers (nil: all) and returns
// the receipt code.
func (s *Server) Submit(message string, reviewers []string, files ...File) (string, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("message", message)
	for _, r := range reviewers {
		w.WriteField("reviewer", r)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, f.Name))
		h.Set("Content-Type", "application/octet-stream")
		pw, _ := w.CreatePart(h)
		pw.Write(f.Body)
	}
	w.Close()
	resp, err := http.Post(s.URL+"/report", w.FormDataContentType(), &b)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := receiptRE.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("POST /report: status %d, no receipt", resp.StatusCode)
	}
	return string(m[1]), nil
}

// Pull fetches the reviewer's bundle (since "" = from the acknowledged cursor) into w.
func (s *Server) Pull(token, since string, w io.Writer) error {
	path := "/api/v1/pull"
	if since != "" {
		path += "?since=" + since
	}
	resp, err := s.do(http.MethodGet, path, token, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiErr(resp)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// Push sends an outbox and returns the number of envelopes accepted.
func (s *Server) Push(token string, outbox io.Reader) (int, error) {
	resp, err := s.do(http.MethodPost, "/api/v1/push", token, outbox)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, apiErr(resp)
	}
	var ok struct{ Accepted int }
	err = json.NewDecoder(resp.Body).Decode(&ok)
	return ok.Accepted, err
}

func (s *Server) do(method, path, token string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return http.DefaultClient.Do(req)
}

// APIError is a refusal of the sync API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Message) }

func apiErr(resp *http.Response) error {
	var e struct{ Error string }
	json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
	return &APIError{Status: resp.StatusCode, Message: e.Error}
}
